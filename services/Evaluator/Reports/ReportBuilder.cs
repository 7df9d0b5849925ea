using FunctionGemma.Core.Calls;
using FunctionGemma.Core.Json;
using FunctionGemma.Core.Metrics;
using FunctionGemma.Protos;
using FunctionGemma.Storage;

namespace FunctionGemma.Evaluator.Reports;

/// <summary>A dataset row with what the model produced for it.</summary>
/// <param name="Row">The clean row (gold call, tools, scenario).</param>
/// <param name="Prediction">The decoded new text, special tokens skipped and trimmed, as the reference decodes it.</param>
/// <param name="GeneratedTokens">New tokens generated, the stop token included.</param>
public sealed record GeneratedRow(DatasetRow Row, string Prediction, int GeneratedTokens);

/// <summary>
/// Scores generated rows and aggregates them into a report: overall, per gold tool and per scenario. Every metric is
/// Core's (<see cref="CallMetrics"/>, <see cref="TcCer"/>); this only groups rows and records the per-row details.
/// </summary>
public static class ReportBuilder
{
    /// <summary>The scenario key of rows without a scenario_category.</summary>
    public const string NoScenario = "(none)";

    /// <summary>The per-row prediction with its scores.</summary>
    public static RowPrediction Score(GeneratedRow generated)
    {
        var (row, prediction, tokens) = generated;
        var example = Example(generated);
        var m = CallMetrics.Compute([example]);
        var (edits, refChars) = TcCer.Totals([example.GoldBlock], [TcCer.CallBlock(prediction)]);
        var parsed = FunctionCallFormat.Parse(prediction);
        var first = parsed.Calls.Count > 0 ? parsed.Calls[0] : null;
        return new RowPrediction
        {
            Index = row.Index,
            UserContent = row.Clean.UserContent,
            Gold = example.GoldBlock,
            Prediction = prediction,
            ToolCorrect = m.ToolAccuracy == 1,
            Cer = m.TcCer,
            GoldTool = row.Clean.ToolName,
            PredictedTool = CallMetrics.PredictedName(prediction) ?? "",
            Scenario = ScenarioOf(row),
            ExactMatch = m.ExactMatch == 1,
            JsonValid = m.JsonValidRate == 1,
            SchemaValid = m.SchemaValidRate == 1,
            ArgumentPrecision = m.ArgumentPrecision,
            ArgumentRecall = m.ArgumentRecall,
            ArgumentF1 = m.ArgumentF1,
            GeneratedTokens = tokens,
            ParseProblem = first?.Problem ?? "",
            CallForm = first is null ? "" : first.Form == CallForm.Reference ? "reference" : "native",
            PredictedArgumentsJson = first is null ? "" : PythonJson.Dumps(first.Arguments),
            CerEdits = edits,
            CerReferenceChars = refChars,
        };
    }

    /// <summary>The metrics of a set of rows (at least one).</summary>
    /// <exception cref="ArgumentException">No rows.</exception>
    public static EvalMetricsSummary Summarize(IReadOnlyList<GeneratedRow> rows)
    {
        if (rows.Count == 0) throw new ArgumentException("A summary needs at least one row.", nameof(rows));
        var examples = rows.Select(Example).ToList();
        var m = CallMetrics.Compute(examples);
        var (edits, refChars) = TcCer.Totals(examples.Select(e => e.GoldBlock).ToList(), rows.Select(r => TcCer.CallBlock(r.Prediction)).ToList());
        return new EvalMetricsSummary
        {
            Rows = m.Count,
            ToolAccuracy = m.ToolAccuracy,
            TcCer = m.TcCer,
            ExactMatch = m.ExactMatch,
            ArgumentPrecision = m.ArgumentPrecision,
            ArgumentRecall = m.ArgumentRecall,
            ArgumentF1 = m.ArgumentF1,
            JsonValidRate = m.JsonValidRate,
            SchemaValidRate = m.SchemaValidRate,
            CerEdits = edits,
            CerReferenceChars = refChars,
            CallRate = rows.Count(r => TcCer.CallBlock(r.Prediction).Length > 0) / (double)rows.Count,
        };
    }

    /// <summary>
    /// Fills <paramref name="report"/>'s metrics and rows from <paramref name="rows"/> (in dataset order): overall,
    /// per gold tool, per scenario.
    /// </summary>
    public static void Fill(EvalReport report, IReadOnlyList<GeneratedRow> rows)
    {
        var ordered = rows.OrderBy(r => r.Row.Index).ToList();
        report.Overall = Summarize(ordered);
        foreach (var g in ordered.GroupBy(r => r.Row.Clean.ToolName, StringComparer.Ordinal))
            report.ByTool[g.Key] = Summarize(g.ToList());
        foreach (var g in ordered.GroupBy(ScenarioOf, StringComparer.Ordinal))
            report.ByScenario[g.Key] = Summarize(g.ToList());
        report.Rows.Clear();
        report.Rows.AddRange(ordered.Select(Score));
        report.GeneratedTokens = ordered.Sum(r => (long)r.GeneratedTokens);
    }

    /// <summary>Worst first: wrong tool, then higher CER, then lower argument F1; ties by dataset index.</summary>
    public static IEnumerable<RowPrediction> Worst(IEnumerable<RowPrediction> rows) =>
        rows.OrderBy(r => r.ToolCorrect).ThenByDescending(r => r.Cer).ThenBy(r => r.ArgumentF1).ThenBy(r => r.Index);

    private static string ScenarioOf(GeneratedRow r) => ScenarioOf(r.Row);

    private static string ScenarioOf(DatasetRow row) => string.IsNullOrWhiteSpace(row.ScenarioCategory) ? NoScenario : row.ScenarioCategory;

    private static EvalExample Example(GeneratedRow r) =>
        new(r.Prediction, r.Row.Clean.ToolName, r.Row.Clean.ToolArguments, r.Row.Clean.Tools);
}
