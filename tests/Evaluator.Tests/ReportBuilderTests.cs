using FunctionGemma.Core.Metrics;
using FunctionGemma.Evaluator.Reports;

namespace FunctionGemma.Evaluator.Tests;

public sealed class ReportBuilderTests
{
    [Fact]
    public void Overall_metrics_follow_the_reference_definitions()
    {
        var report = Rows.Report(Rows.Mixed());
        var m = report.Overall;
        Assert.Equal(5, m.Rows);
        // Right name: exact, native, truncated (the name regex needs only `call:NAME{`); wrong: other tool, empty.
        Assert.Equal(0.6, m.ToolAccuracy, 12);
        Assert.Equal(0.2, m.ExactMatch, 12);
        // Well-formed first calls: exact, native, wrong tool; the empty output has none, the truncated one is cut.
        Assert.Equal(0.6, m.JsonValidRate, 12);
        // The wrong tool's {} misses get_weather's required city.
        Assert.Equal(0.4, m.SchemaValidRate, 12);
        Assert.Equal(0.6, m.CallRate, 12);
        Assert.Equal((double)m.CerEdits / m.CerReferenceChars, m.TcCer, 12);
        Assert.Equal(report.Rows.Sum(r => r.CerEdits), m.CerEdits);
        Assert.Equal(report.Rows.Sum(r => r.CerReferenceChars), m.CerReferenceChars);
        var examples = Rows.Mixed().Select(r => new EvalExample(r.Prediction, r.Row.Clean.ToolName, r.Row.Clean.ToolArguments, r.Row.Clean.Tools)).ToList();
        Assert.Equal(CallMetrics.Compute(examples).TcCer, m.TcCer, 12);
        Assert.Equal(175, report.GeneratedTokens);
    }

    [Fact]
    public void Rows_carry_what_the_parser_found()
    {
        var rows = Rows.Report(Rows.Mixed()).Rows;
        Assert.Equal([0L, 1, 2, 3, 4], rows.Select(r => r.Index));
        Assert.True(rows[0] is { ToolCorrect: true, ExactMatch: true, JsonValid: true, SchemaValid: true, Cer: 0, ArgumentF1: 1, CallForm: "reference", ParseProblem: "" });
        Assert.True(rows[1] is { ToolCorrect: true, ExactMatch: false, JsonValid: true, SchemaValid: true, ArgumentF1: 1, CallForm: "native" });
        Assert.Equal("{\"city\": \"Paris\"}", rows[1].PredictedArgumentsJson);
        Assert.True(rows[2] is { ToolCorrect: false, GoldTool: "get_time", PredictedTool: "get_weather", SchemaValid: false, ArgumentRecall: 0 });
        Assert.True(rows[3] is { ToolCorrect: false, PredictedTool: "", CallForm: "", Cer: 1, JsonValid: false });
        Assert.Equal(rows[3].CerReferenceChars, rows[3].CerEdits);
        Assert.True(rows[4] is { ToolCorrect: true, JsonValid: false, Cer: 1 });
        Assert.NotEmpty(rows[4].ParseProblem);
        Assert.Equal(Rows.WeatherCall, rows[0].Gold);
    }

    [Fact]
    public void Breakdowns_group_by_gold_tool_and_scenario()
    {
        var report = Rows.Report(Rows.Mixed());
        Assert.Equal(["get_time", "get_weather"], report.ByTool.Keys.Order());
        Assert.Equal(4, report.ByTool["get_weather"].Rows);
        Assert.Equal(0.75, report.ByTool["get_weather"].ToolAccuracy, 12);
        Assert.Equal(0, report.ByTool["get_time"].ToolAccuracy);
        Assert.Equal(4, report.ByScenario["single"].Rows);
        Assert.Equal(1, report.ByScenario[ReportBuilder.NoScenario].Rows);
        Assert.Equal(report.Overall.CerEdits, report.ByTool.Values.Sum(t => t.CerEdits));
    }

    [Fact]
    public void Worst_rows_put_wrong_tools_first_then_high_cer()
    {
        var worst = ReportBuilder.Worst(Rows.Report(Rows.Mixed()).Rows).Select(r => r.Index).ToList();
        Assert.Equal(3L, worst[0]);
        Assert.Equal(2L, worst[1]);
        Assert.Equal(0L, worst[^1]);
    }

    [Fact]
    public void Summaries_need_rows() => Assert.Throws<ArgumentException>(() => ReportBuilder.Summarize([]));
}
