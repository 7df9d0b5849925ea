using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace FunctionGemma.DataPrep;

/// <summary>DataPrep's telemetry: the meter and the ActivitySource, both named "FunctionGemma.DataPrep".</summary>
public sealed class DataPrepMetrics
{
    /// <summary>Meter and ActivitySource name.</summary>
    public const string Name = "FunctionGemma.DataPrep";

    /// <summary>Spans of DataPrep's work.</summary>
    public static readonly ActivitySource Source = new(Name);

    private readonly Counter<long> _cleaned;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _prepared;
    private readonly Histogram<double> _duration;

    public DataPrepMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(Name);
        _cleaned = meter.CreateCounter<long>("fg.dataprep.rows.cleaned", "{row}", "Rows kept by the cleaning rules and written.");
        _dropped = meter.CreateCounter<long>("fg.dataprep.rows.dropped", "{row}", "Rows dropped by the cleaning rules, by reason.");
        _prepared = meter.CreateCounter<long>("fg.dataprep.versions", "{version}", "PrepareDataset outcomes (created or existing).");
        _duration = meter.CreateHistogram<double>("fg.dataprep.prepare.duration", "s", "Time to create a dataset version.");
    }

    public void Cleaned(long rows, string rules) => _cleaned.Add(rows, new KeyValuePair<string, object?>("rules", rules));

    public void Dropped(string reason, long rows, string rules) =>
        _dropped.Add(rows, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("rules", rules));

    public void Prepared(string outcome) => _prepared.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Duration(TimeSpan elapsed) => _duration.Record(elapsed.TotalSeconds);
}
