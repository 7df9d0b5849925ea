using System.Diagnostics;
using System.Diagnostics.Metrics;
using FunctionGemma.ServiceDefaults;

namespace FunctionGemma.Evaluator;

/// <summary>The Evaluator's spans and metrics ("FunctionGemma.Evaluator", picked up by ServiceDefaults' "FunctionGemma.*").</summary>
public static class EvaluatorTelemetry
{
    public const string Name = "FunctionGemma.Evaluator";

    public static readonly ActivitySource Source = new(Name);
    private static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Rows = Meter.CreateCounter<long>("evaluator.rows", "{row}", "Rows generated and scored.");
    public static readonly Counter<long> GeneratedTokens = Meter.CreateCounter<long>("evaluator.generated_tokens", "{token}", "New tokens generated (stop tokens included).");
    public static readonly Counter<long> Evaluations = Meter.CreateCounter<long>("evaluator.evaluations", "{evaluation}", "Evaluate calls by outcome (computed, stored, failed).");
    public static readonly Histogram<double> RowsPerSecond = Meter.CreateHistogram<double>("evaluator.rows_per_second", "{row}/s", "Generation throughput of one evaluation, in rows.");
    public static readonly Histogram<double> TokensPerSecond = Meter.CreateHistogram<double>("evaluator.tokens_per_second", "{token}/s", "Generation throughput of one evaluation, in new tokens.");
    public static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("evaluator.duration", "s", "Wall time of one evaluation (model load excluded).");

    /// <summary>A span linked to the span that produced an input (a W3C traceparent from its lineage), when known.</summary>
    public static Activity? Start(string name, string? traceparent = null)
        => Source.StartLinked(name, traceparent);
}
