using System.IO.Enumeration;
using FunctionGemma.Storage.Hermes;

namespace FunctionGemma.DataPrep.Sources;

/// <summary>
/// <c>hf:OWNER/NAME[@REVISION]</c>: the <c>data/train-*.parquet</c> shards of a Hub dataset, pinned to the commit the
/// revision (default <c>main</c>) points at when resolved.
/// </summary>
public sealed class HuggingFaceSource(string spec, string repo, string revision, HuggingFaceHub hub) : IHermesSource
{
    /// <summary>The shards of the train split, as the Hub's parquet layout names them.</summary>
    public const string TrainShards = "data/train-*.parquet";

    private HubDatasetRevision? _pinned;

    /// <inheritdoc/>
    public string Spec => spec;

    /// <inheritdoc/>
    public async Task<SourceRevision> ResolveAsync(CancellationToken ct)
    {
        _pinned = await hub.ResolveDatasetAsync(repo, revision, ct);
        if (Shards(_pinned).Count == 0)
            throw new ArgumentException($"DatasetSpec.source '{spec}': commit {_pinned.Sha} has no {TrainShards} files " +
                $"(it has {string.Join(", ", _pinned.Files.Take(10).Select(f => f.Path))}).");
        return new SourceRevision($"hf:{repo}@{_pinned.Sha}", _pinned.Sha);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<HermesFile>> FetchAsync(SourceRevision resolved, IProgress<FetchProgress>? progress, CancellationToken ct)
    {
        var pinned = _pinned ?? throw new InvalidOperationException("Resolve the source before fetching it.");
        var files = new List<HermesFile>();
        foreach (var shard in Shards(pinned))
            files.Add(new HermesFile(await hub.DownloadAsync(pinned, shard, progress, ct), HermesFileFormat.Parquet));
        return files;
    }

    private static List<HubFile> Shards(HubDatasetRevision r) =>
        [.. r.Files.Where(f => FileSystemName.MatchesSimpleExpression(TrainShards, f.Path)).OrderBy(f => f.Path, StringComparer.Ordinal)];
}
