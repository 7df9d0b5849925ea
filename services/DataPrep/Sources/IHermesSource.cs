using FunctionGemma.Storage.Hermes;

namespace FunctionGemma.DataPrep.Sources;

/// <summary>A source pinned to immutable content.</summary>
/// <param name="Identity">What the dataset version id hashes: kind, name and revision (e.g. <c>hf:owner/name@sha</c>).</param>
/// <param name="Revision">The revision alone: a Hub commit sha or the sha256 of local content.</param>
public sealed record SourceRevision(string Identity, string Revision);

/// <summary>Download progress of one file.</summary>
public readonly record struct FetchProgress(string File, long Done, long Total);

/// <summary>
/// Where raw Hermes rows come from. Resolving pins the content cheaply (a Hub API call, or hashing local files) so the
/// version id is known before any download; fetching then makes that content available as local files.
/// </summary>
public interface IHermesSource
{
    /// <summary>The spec string the source was made from.</summary>
    string Spec { get; }

    /// <summary>Pins the source to its current immutable revision.</summary>
    /// <exception cref="ArgumentException">The source cannot be read (missing file, unknown repo or revision).</exception>
    Task<SourceRevision> ResolveAsync(CancellationToken ct);

    /// <summary>The local files of a resolved revision, fetched into the cache when needed.</summary>
    Task<IReadOnlyList<HermesFile>> FetchAsync(SourceRevision revision, IProgress<FetchProgress>? progress, CancellationToken ct);
}
