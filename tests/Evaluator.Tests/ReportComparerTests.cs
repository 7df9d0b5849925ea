using FunctionGemma.Evaluator.Reports;

namespace FunctionGemma.Evaluator.Tests;

public sealed class ReportComparerTests
{
    [Fact]
    public void Deltas_are_after_minus_before_overall_per_tool_and_per_row()
    {
        var before = Rows.Report(Rows.Mixed(), "before");
        var improved = Rows.Mixed();
        improved[3] = improved[3] with { Prediction = Rows.WeatherCall };
        var after = Rows.Report(improved, "after");

        var c = ReportComparer.Compare(before, after);
        Assert.Equal(0.2, c.Deltas["tool_accuracy"], 12);
        Assert.Equal(0.2, c.Deltas["exact_match"], 12);
        Assert.True(c.Deltas["tc_cer"] < 0);
        Assert.Equal(after.Overall.TcCer - before.Overall.TcCer, c.Deltas["tc_cer"], 12);
        Assert.Equal(0.25, c.ByToolDeltas["get_weather"].ToolAccuracy, 12);
        Assert.Equal(0, c.ByToolDeltas["get_time"].ToolAccuracy);
        var changed = Assert.Single(c.ChangedRows);
        Assert.True(changed is { Index: 3, BeforeToolCorrect: false, AfterToolCorrect: true, AfterCer: 0 });
        Assert.Contains("| tool_accuracy | 0.6 | 0.8 | +0.2 |", c.Markdown);
        Assert.DoesNotContain("warning", c.Markdown);
    }

    [Fact]
    public void Comparing_different_datasets_warns()
    {
        var before = Rows.Report(Rows.Mixed(), "a");
        var after = Rows.Report(Rows.Mixed(), "b");
        after.Spec.Dataset.Version = "other";
        Assert.Contains("warning", ReportComparer.Compare(before, after).Markdown);
    }
}
