using System.Globalization;
using System.Net;
using System.Text;
using FunctionGemma.Protos;

namespace FunctionGemma.Evaluator.Reports;

/// <summary>Human-readable renderings of reports: Markdown (for terminals, PRs, model cards) and a standalone HTML page.</summary>
public static class ReportRenderer
{
    /// <summary>Rows shown with their predictions unless the caller asks otherwise.</summary>
    public const int DefaultWorstRows = 10;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>"markdown" or "html" (case-insensitive; empty = markdown).</summary>
    /// <exception cref="ArgumentException">Another format.</exception>
    public static (string Format, string MediaType, string Text) Render(EvalReport report, string? format, int worstRows)
    {
        var f = string.IsNullOrWhiteSpace(format) ? "markdown" : format.Trim().ToLowerInvariant();
        if (worstRows < 0) throw new ArgumentException($"worst_rows is {worstRows}: use 0 for {DefaultWorstRows} or a positive count.");
        int worst = worstRows == 0 ? DefaultWorstRows : worstRows;
        return f switch
        {
            "markdown" or "md" => ("markdown", "text/markdown", Markdown(report, worst)),
            "html" => ("html", "text/html", Html(report, worst)),
            _ => throw new ArgumentException($"Report format '{format}' is not 'markdown' or 'html'."),
        };
    }

    /// <summary>Metrics, per-tool and per-scenario tables, and the <paramref name="worstRows"/> worst rows with their predictions.</summary>
    public static string Markdown(EvalReport r, int worstRows = DefaultWorstRows)
    {
        var sb = new StringBuilder();
        sb.Append("# Evaluation report `").Append(r.ReportId).Append("`\n\n");
        foreach (var (k, v) in Facts(r)) sb.Append("- **").Append(k).Append("**: ").Append(v).Append('\n');
        sb.Append("\n## Metrics\n\n| metric | value |\n|---|---:|\n");
        foreach (var (name, get) in ReportComparer.Metrics) sb.Append("| ").Append(name).Append(" | ").Append(F(get(r.Overall ?? new()))).Append(" |\n");
        AppendGroups(sb, "Per tool", "tool", r.ByTool);
        AppendGroups(sb, "Per scenario", "scenario", r.ByScenario);
        var worst = ReportBuilder.Worst(r.Rows).Take(worstRows).ToList();
        sb.Append("\n## Worst rows (").Append(worst.Count).Append(" of ").Append(r.Rows.Count).Append(")\n");
        foreach (var row in worst)
        {
            sb.Append("\n### Row ").Append(row.Index).Append(" — ").Append(row.ToolCorrect ? "right tool" : "wrong tool")
              .Append(", CER ").Append(F(row.Cer)).Append(", argument F1 ").Append(F(row.ArgumentF1)).Append('\n');
            sb.Append("\n- gold tool: `").Append(Cell(row.GoldTool)).Append("`, predicted: `").Append(Cell(row.PredictedTool)).Append("`, scenario: ").Append(Cell(row.Scenario)).Append('\n');
            if (row.ParseProblem.Length > 0) sb.Append("- parse problem: ").Append(Cell(row.ParseProblem)).Append('\n');
            sb.Append("\nTask:\n").Append(Fence(row.UserContent)).Append("Gold:\n").Append(Fence(row.Gold)).Append("Prediction:\n").Append(Fence(row.Prediction));
        }
        return sb.ToString();
    }

    /// <summary>The same content as <see cref="Markdown"/> as one self-contained HTML page.</summary>
    public static string Html(EvalReport r, int worstRows = DefaultWorstRows)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evaluation report ").Append(E(r.ReportId)).Append("</title>\n")
          .Append("<style>body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}")
          .Append("td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}td:first-child,th:first-child{text-align:left}")
          .Append("pre{background:#f6f6f6;padding:.5rem;white-space:pre-wrap;word-break:break-all}.bad{color:#a00}.good{color:#070}</style></head><body>\n");
        sb.Append("<h1>Evaluation report <code>").Append(E(r.ReportId)).Append("</code></h1>\n<ul>\n");
        foreach (var (k, v) in Facts(r)) sb.Append("<li><b>").Append(E(k)).Append("</b>: ").Append(E(v)).Append("</li>\n");
        sb.Append("</ul>\n<h2>Metrics</h2>\n<table><tr><th>metric</th><th>value</th></tr>\n");
        foreach (var (name, get) in ReportComparer.Metrics) sb.Append("<tr><td>").Append(name).Append("</td><td>").Append(F(get(r.Overall ?? new()))).Append("</td></tr>\n");
        sb.Append("</table>\n");
        AppendGroupsHtml(sb, "Per tool", "tool", r.ByTool);
        AppendGroupsHtml(sb, "Per scenario", "scenario", r.ByScenario);
        var worst = ReportBuilder.Worst(r.Rows).Take(worstRows).ToList();
        sb.Append("<h2>Worst rows (").Append(worst.Count).Append(" of ").Append(r.Rows.Count).Append(")</h2>\n");
        foreach (var row in worst)
        {
            sb.Append("<h3>Row ").Append(row.Index).Append(" — <span class=\"").Append(row.ToolCorrect ? "good\">right tool" : "bad\">wrong tool")
              .Append("</span>, CER ").Append(F(row.Cer)).Append(", argument F1 ").Append(F(row.ArgumentF1)).Append("</h3>\n");
            sb.Append("<p>gold tool <code>").Append(E(row.GoldTool)).Append("</code>, predicted <code>").Append(E(row.PredictedTool))
              .Append("</code>, scenario ").Append(E(row.Scenario));
            if (row.ParseProblem.Length > 0) sb.Append("; parse problem: ").Append(E(row.ParseProblem));
            sb.Append("</p>\n<p>Task</p><pre>").Append(E(row.UserContent)).Append("</pre>\n<p>Gold</p><pre>").Append(E(row.Gold))
              .Append("</pre>\n<p>Prediction</p><pre>").Append(E(row.Prediction)).Append("</pre>\n");
        }
        return sb.Append("</body></html>\n").ToString();
    }

    /// <summary>The comparison as Markdown: overall deltas, per-tool deltas, and the rows that changed.</summary>
    public static string ComparisonMarkdown(ReportComparison c)
    {
        var sb = new StringBuilder("# Report comparison\n\n");
        sb.Append("- **before**: `").Append(c.Before.ReportId).Append("` (").Append(c.Before.ModelIdentity).Append(")\n");
        sb.Append("- **after**: `").Append(c.After.ReportId).Append("` (").Append(c.After.ModelIdentity).Append(")\n");
        if (c.Before.Spec?.Dataset?.Version != c.After.Spec?.Dataset?.Version || c.Before.Spec?.N != c.After.Spec?.N)
            sb.Append("- **warning**: the reports cover different dataset versions or row counts; the deltas mix data and model changes.\n");
        sb.Append("\n| metric | before | after | delta |\n|---|---:|---:|---:|\n");
        foreach (var (name, get) in ReportComparer.Metrics)
            sb.Append("| ").Append(name).Append(" | ").Append(F(get(c.Before.Overall ?? new()))).Append(" | ").Append(F(get(c.After.Overall ?? new())))
              .Append(" | ").Append(Signed(c.Deltas[name])).Append(" |\n");
        if (c.ByToolDeltas.Count > 0)
        {
            sb.Append("\n## Per tool (delta)\n\n| tool | rows | tool_accuracy | tc_cer | argument_f1 |\n|---|---:|---:|---:|---:|\n");
            foreach (var (k, d) in c.ByToolDeltas.OrderBy(x => x.Key, StringComparer.Ordinal))
                sb.Append("| ").Append(Cell(k)).Append(" | ").Append(d.Rows).Append(" | ").Append(Signed(d.ToolAccuracy)).Append(" | ")
                  .Append(Signed(d.TcCer)).Append(" | ").Append(Signed(d.ArgumentF1)).Append(" |\n");
        }
        sb.Append("\n## Changed rows (").Append(c.ChangedRows.Count).Append(")\n");
        foreach (var row in c.ChangedRows)
        {
            sb.Append("\n### Row ").Append(row.Index).Append(": ").Append(row.BeforeToolCorrect ? "right" : "wrong").Append(" → ")
              .Append(row.AfterToolCorrect ? "right" : "wrong").Append(" tool, CER ").Append(F(row.BeforeCer)).Append(" → ").Append(F(row.AfterCer)).Append('\n');
            sb.Append("\nGold:\n").Append(Fence(row.Gold)).Append("Before:\n").Append(Fence(row.BeforePrediction)).Append("After:\n").Append(Fence(row.AfterPrediction));
        }
        return sb.ToString();
    }

    private static IEnumerable<(string, string)> Facts(EvalReport r)
    {
        yield return ("model", r.ModelIdentity + (r.ModelVersion.Length > 0 ? $" (registry version {r.ModelVersion})" : ""));
        yield return ("model path", r.ModelPath);
        yield return ("dataset", $"{r.Spec?.Dataset?.Version} / {r.Spec?.Split} / first {r.Overall?.Rows} rows");
        yield return ("decoding", $"greedy, max {r.Spec?.MaxNewTokens} new tokens, stop ids [{string.Join(", ", r.Spec?.StopTokenIds ?? [])}], batch {r.Spec?.BatchSize}");
        yield return ("device", $"{r.Device} ({r.Dtype})");
        yield return ("throughput", $"{F(r.RowsPerSecond)} rows/s, {F(r.TokensPerSecond)} tokens/s, {r.GeneratedTokens} tokens in {F(r.Seconds)} s");
        yield return ("code version", r.Lineage?.CodeVersion ?? "");
        yield return ("created", r.Created?.ToDateTimeOffset().ToString("u", Inv) ?? "");
        if (r.Lineage?.ExperimentId is { Length: > 0 } e) yield return ("experiment", e);
    }

    private static void AppendGroups(StringBuilder sb, string title, string key, IDictionary<string, EvalMetricsSummary> groups)
    {
        if (groups.Count == 0) return;
        sb.Append("\n## ").Append(title).Append("\n\n| ").Append(key).Append(" | rows | tool_accuracy | tc_cer | exact_match | argument_f1 | json_valid_rate | schema_valid_rate |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var (k, m) in Sorted(groups))
            sb.Append("| ").Append(Cell(k)).Append(" | ").Append(m.Rows).Append(" | ").Append(F(m.ToolAccuracy)).Append(" | ").Append(F(m.TcCer))
              .Append(" | ").Append(F(m.ExactMatch)).Append(" | ").Append(F(m.ArgumentF1)).Append(" | ").Append(F(m.JsonValidRate))
              .Append(" | ").Append(F(m.SchemaValidRate)).Append(" |\n");
    }

    private static void AppendGroupsHtml(StringBuilder sb, string title, string key, IDictionary<string, EvalMetricsSummary> groups)
    {
        if (groups.Count == 0) return;
        sb.Append("<h2>").Append(title).Append("</h2>\n<table><tr><th>").Append(key)
          .Append("</th><th>rows</th><th>tool_accuracy</th><th>tc_cer</th><th>exact_match</th><th>argument_f1</th><th>json_valid_rate</th><th>schema_valid_rate</th></tr>\n");
        foreach (var (k, m) in Sorted(groups))
            sb.Append("<tr><td>").Append(E(k)).Append("</td><td>").Append(m.Rows).Append("</td><td>").Append(F(m.ToolAccuracy)).Append("</td><td>")
              .Append(F(m.TcCer)).Append("</td><td>").Append(F(m.ExactMatch)).Append("</td><td>").Append(F(m.ArgumentF1)).Append("</td><td>")
              .Append(F(m.JsonValidRate)).Append("</td><td>").Append(F(m.SchemaValidRate)).Append("</td></tr>\n");
        sb.Append("</table>\n");
    }

    // Largest groups first: they move the overall numbers most.
    private static IEnumerable<KeyValuePair<string, EvalMetricsSummary>> Sorted(IDictionary<string, EvalMetricsSummary> groups) =>
        groups.OrderByDescending(g => g.Value.Rows).ThenBy(g => g.Key, StringComparer.Ordinal);

    private static string F(double v) => v.ToString("0.###", Inv);

    private static string Signed(double v) => (v > 0 ? "+" : "") + v.ToString("0.###", Inv);

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ');

    // A fence longer than any backtick run inside, so model output cannot close it.
    private static string Fence(string s)
    {
        int longest = 0, run = 0;
        foreach (var ch in s) { run = ch == '`' ? run + 1 : 0; longest = Math.Max(longest, run); }
        var fence = new string('`', Math.Max(3, longest + 1));
        return $"{fence}text\n{s}\n{fence}\n\n";
    }
}
