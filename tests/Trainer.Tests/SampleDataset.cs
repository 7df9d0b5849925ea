using FunctionGemma.Core;
using FunctionGemma.Core.Hermes;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using FunctionGemma.Storage.Hermes;
using Google.Protobuf.WellKnownTypes;
using StackExchange.Redis;

namespace FunctionGemma.Trainer.Tests;

/// <summary>samples/hermes-sample.jsonl cleaned and written as a dataset version through the Storage writer.</summary>
public static class SampleDataset
{
    public const string Version = "trainer-tests-sample";

    /// <summary>Trace id of the traceparent stored with the rows and the manifest.</summary>
    public const string TraceId = "0af7651916cd43dd8448eb211c80319c";

    /// <summary>Writes the version (train = the first clean rows, eval = the last <paramref name="evalRows"/>); returns (train, eval) counts.</summary>
    public static async Task<(int Train, int Eval)> SeedAsync(IConnectionMultiplexer redis, int evalRows = 8, string traceparent = "00-" + TraceId + "-b7ad6b7169203331-01")
    {
        var files = HermesFiles.Discover(Path.Combine(RepoPaths.Root(), "samples", "hermes-sample.jsonl"));
        var clean = new List<(long Source, FunctionGemma.Core.Hermes.CleanRow Row, HermesRow Raw)>();
        await foreach (var r in HermesFiles.ReadAsync(files))
            if (HermesCleaner.Clean(r.Row).Row is { } row) clean.Add((r.Index, row, r.Row));
        int train = clean.Count - evalRows;
        var writer = new DatasetWriter(redis);
        await using var held = await writer.TryLockAsync(Version, TimeSpan.FromMinutes(1)) ?? throw new InvalidOperationException("dataset lock is taken");
        DatasetRow Row(int i, int index) => new(index, clean[i].Source, clean[i].Row, clean[i].Raw.ScenarioCategory ?? "", clean[i].Raw.Source ?? "");
        await writer.AppendAsync(Version, Split.Train, Enumerable.Range(0, train).Select(i => Row(i, i)).ToList(), traceparent);
        await writer.AppendAsync(Version, Split.Eval, Enumerable.Range(train, evalRows).Select(i => Row(i, i - train)).ToList(), traceparent);
        var manifest = new DatasetManifest
        {
            Ref = new DatasetRef { Version = Version },
            TrainRows = train,
            EvalRows = evalRows,
            Created = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            Lineage = new Lineage { Traceparent = traceparent },
        };
        if (!await writer.CompleteAsync(manifest, held)) throw new InvalidOperationException("manifest not written");
        return (train, evalRows);
    }
}
