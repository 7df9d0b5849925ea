using System.Security.Cryptography;
using FunctionGemma.Storage.Hermes;

namespace FunctionGemma.DataPrep.Sources;

/// <summary>
/// <c>sample</c>: samples/hermes-sample.jsonl, embedded in this assembly so the service needs no checkout. It is written
/// once into the cache under its sha256 and read from there.
/// </summary>
public sealed class SampleSource(string cacheDir) : IHermesSource
{
    /// <summary>The manifest resource name of the embedded sample.</summary>
    public const string ResourceName = "hermes-sample.jsonl";

    /// <inheritdoc/>
    public string Spec => "sample";

    /// <summary>The embedded sample's bytes.</summary>
    public static byte[] ReadEmbedded()
    {
        using var stream = typeof(SampleSource).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The DataPrep assembly has no embedded '{ResourceName}'; rebuild it from the repository.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <inheritdoc/>
    public Task<SourceRevision> ResolveAsync(CancellationToken ct)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(ReadEmbedded()));
        return Task.FromResult(new SourceRevision($"sample:sha256:{sha}", sha));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<HermesFile>> FetchAsync(SourceRevision revision, IProgress<FetchProgress>? progress, CancellationToken ct)
    {
        var path = Path.Combine(cacheDir, "sample", revision.Revision + ".jsonl");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            await File.WriteAllBytesAsync(temp, ReadEmbedded(), ct);
            File.Move(temp, path, overwrite: true);
        }
        return [new HermesFile(path, HermesFileFormat.Jsonl)];
    }
}
