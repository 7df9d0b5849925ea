using FunctionGemma.Protos;

namespace FunctionGemma.Evaluator.Reports;

/// <summary>Before/after comparison of two reports (typically pre- and post-training on the same dataset version).</summary>
public static class ReportComparer
{
    /// <summary>The metrics compared, by their <see cref="EvalMetricsSummary"/> field names; for tc_cer lower is better.</summary>
    public static readonly IReadOnlyList<(string Name, Func<EvalMetricsSummary, double> Get)> Metrics =
    [
        ("tool_accuracy", m => m.ToolAccuracy),
        ("tc_cer", m => m.TcCer),
        ("exact_match", m => m.ExactMatch),
        ("argument_precision", m => m.ArgumentPrecision),
        ("argument_recall", m => m.ArgumentRecall),
        ("argument_f1", m => m.ArgumentF1),
        ("json_valid_rate", m => m.JsonValidRate),
        ("schema_valid_rate", m => m.SchemaValidRate),
        ("call_rate", m => m.CallRate),
    ];

    /// <summary>after − before for every metric, per tool and per scenario, and the rows whose outcome changed.</summary>
    public static ReportComparison Compare(EvalReport before, EvalReport after)
    {
        var c = new ReportComparison { Before = before, After = after };
        foreach (var (name, get) in Metrics) c.Deltas[name] = get(after.Overall ?? new()) - get(before.Overall ?? new());
        c.Deltas["rows_per_second"] = after.RowsPerSecond - before.RowsPerSecond;
        c.Deltas["tokens_per_second"] = after.TokensPerSecond - before.TokensPerSecond;
        foreach (var (key, a) in after.ByTool)
            if (before.ByTool.TryGetValue(key, out var b)) c.ByToolDeltas[key] = Delta(b, a);
        foreach (var (key, a) in after.ByScenario)
            if (before.ByScenario.TryGetValue(key, out var b)) c.ByScenarioDeltas[key] = Delta(b, a);
        var beforeRows = before.Rows.ToDictionary(r => r.Index);
        foreach (var a in after.Rows.OrderBy(r => r.Index))
        {
            if (!beforeRows.TryGetValue(a.Index, out var b)) continue;
            if (a.ToolCorrect == b.ToolCorrect && a.ExactMatch == b.ExactMatch) continue;
            c.ChangedRows.Add(new RowChange
            {
                Index = a.Index, UserContent = a.UserContent, Gold = a.Gold,
                BeforePrediction = b.Prediction, AfterPrediction = a.Prediction,
                BeforeToolCorrect = b.ToolCorrect, AfterToolCorrect = a.ToolCorrect,
                BeforeCer = b.Cer, AfterCer = a.Cer,
            });
        }
        c.Markdown = ReportRenderer.ComparisonMarkdown(c);
        return c;
    }

    private static EvalMetricsSummary Delta(EvalMetricsSummary b, EvalMetricsSummary a) => new()
    {
        Rows = a.Rows,
        ToolAccuracy = a.ToolAccuracy - b.ToolAccuracy,
        TcCer = a.TcCer - b.TcCer,
        ExactMatch = a.ExactMatch - b.ExactMatch,
        ArgumentPrecision = a.ArgumentPrecision - b.ArgumentPrecision,
        ArgumentRecall = a.ArgumentRecall - b.ArgumentRecall,
        ArgumentF1 = a.ArgumentF1 - b.ArgumentF1,
        JsonValidRate = a.JsonValidRate - b.JsonValidRate,
        SchemaValidRate = a.SchemaValidRate - b.SchemaValidRate,
        CerEdits = a.CerEdits - b.CerEdits,
        CerReferenceChars = a.CerReferenceChars - b.CerReferenceChars,
        CallRate = a.CallRate - b.CallRate,
    };
}
