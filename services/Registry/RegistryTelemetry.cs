using System.Diagnostics;
using System.Diagnostics.Metrics;
using FunctionGemma.ServiceDefaults;

namespace FunctionGemma.Registry;

/// <summary>The Registry's spans and metrics ("FunctionGemma.Registry", picked up by ServiceDefaults' "FunctionGemma.*").</summary>
public static class RegistryTelemetry
{
    public const string Name = "FunctionGemma.Registry";

    public static readonly ActivitySource Source = new(Name);
    private static readonly Meter Meter = new(Name);

    public static readonly Counter<long> VersionsRegistered = Meter.CreateCounter<long>("registry.versions.registered", "{version}", "Model versions registered (new or idempotent repeats).");
    public static readonly Counter<long> BytesStored = Meter.CreateCounter<long>("registry.blob.bytes_stored", "By", "Bytes written to new blobs.");
    public static readonly Counter<long> BlobsDeduplicated = Meter.CreateCounter<long>("registry.blobs.deduplicated", "{blob}", "Blobs whose content was already stored.");
    public static readonly Counter<long> BytesPulled = Meter.CreateCounter<long>("registry.pull.bytes", "By", "Bytes served by PullModel and the HF-compatible endpoint.");
    public static readonly Counter<long> CorruptBlobs = Meter.CreateCounter<long>("registry.blobs.corrupt", "{blob}", "Blobs that failed verification on read.");
    public static readonly Counter<long> Publishes = Meter.CreateCounter<long>("registry.publish.count", "{publish}", "PublishToHub calls by outcome.");
    public static readonly Histogram<double> PublishSeconds = Meter.CreateHistogram<double>("registry.publish.duration", "s", "PublishToHub wall time.");

    /// <summary>A span linked to the span that produced the artifact (a W3C traceparent from its lineage), when known.</summary>
    public static Activity? Start(string name, string? traceparent = null, ActivityKind kind = ActivityKind.Internal)
        => Source.StartLinked(name, traceparent, kind);
}
