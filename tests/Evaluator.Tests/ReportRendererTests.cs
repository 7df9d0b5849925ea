using FunctionGemma.Evaluator.Reports;

namespace FunctionGemma.Evaluator.Tests;

public sealed class ReportRendererTests
{
    [Fact]
    public void Markdown_has_metrics_breakdowns_and_the_worst_rows()
    {
        var md = ReportRenderer.Markdown(Rows.Report(Rows.Mixed()), worstRows: 2);
        Assert.Contains("| tool_accuracy | 0.6 |", md);
        Assert.Contains("## Per tool", md);
        Assert.Contains("| get_weather | 4 | 0.75 |", md);
        Assert.Contains("## Per scenario", md);
        Assert.Contains("## Worst rows (2 of 5)", md);
        Assert.Contains("### Row 3 — wrong tool", md);
        Assert.DoesNotContain("### Row 0 ", md);
    }

    [Fact]
    public void Model_output_cannot_break_out_of_its_code_fence()
    {
        var rows = Rows.Mixed();
        rows[3] = rows[3] with { Prediction = "```\n# injected heading\n````" };
        var md = ReportRenderer.Markdown(Rows.Report(rows));
        Assert.Contains("`````text\n```\n# injected heading\n````\n`````", md);
    }

    [Fact]
    public void Html_escapes_model_output()
    {
        var rows = Rows.Mixed();
        rows[3] = rows[3] with { Prediction = "<script>alert(1)</script>" };
        var html = ReportRenderer.Html(Rows.Report(rows));
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("&lt;script&gt;", html);
        Assert.Contains("&lt;start_function_call&gt;call:get_weather", html);
    }

    [Theory]
    [InlineData("", "markdown")]
    [InlineData("HTML", "html")]
    [InlineData("md", "markdown")]
    public void Formats_are_chosen_by_name(string asked, string expected) =>
        Assert.Equal(expected, ReportRenderer.Render(Rows.Report(Rows.Mixed()), asked, 0).Format);

    [Fact]
    public void Unknown_formats_are_refused() =>
        Assert.Throws<ArgumentException>(() => ReportRenderer.Render(Rows.Report(Rows.Mixed()), "pdf", 0));
}
