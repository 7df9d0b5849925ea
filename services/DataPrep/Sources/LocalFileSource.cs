using System.Security.Cryptography;
using System.Text;
using FunctionGemma.Storage.Hermes;

namespace FunctionGemma.DataPrep.Sources;

/// <summary>
/// A local parquet file or folder (<c>parquet:PATH</c>) or JSONL file (<c>jsonl:PATH</c>). The revision is the sha256 of
/// the content, so the same bytes give the same dataset version wherever they lie.
/// </summary>
public sealed class LocalFileSource(string spec, string kind, string path) : IHermesSource
{
    private IReadOnlyList<HermesFile>? _files;

    /// <inheritdoc/>
    public string Spec => spec;

    /// <inheritdoc/>
    public async Task<SourceRevision> ResolveAsync(CancellationToken ct)
    {
        IReadOnlyList<HermesFile> files;
        try { files = HermesFiles.Discover(path); }
        catch (FileNotFoundException e) { throw new ArgumentException($"DatasetSpec.source '{spec}': {e.Message}", e); }
        var expected = kind == "jsonl" ? HermesFileFormat.Jsonl : HermesFileFormat.Parquet;
        if (files.Any(f => f.Format != expected))
            throw new ArgumentException($"DatasetSpec.source '{spec}': '{path}' is not a {kind} file; use {(expected == HermesFileFormat.Jsonl ? "parquet:" : "jsonl:")}{path}.");
        _files = files;
        var revision = await ContentSha256Async(files, ct);
        return new SourceRevision($"{kind}:sha256:{revision}", revision);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<HermesFile>> FetchAsync(SourceRevision revision, IProgress<FetchProgress>? progress, CancellationToken ct) =>
        Task.FromResult(_files ?? throw new InvalidOperationException("Resolve the source before fetching it."));

    /// <summary>sha256 of one file, or of "relative-path TAB sha256 LF" lines for several.</summary>
    public static async Task<string> ContentSha256Async(IReadOnlyList<HermesFile> files, CancellationToken ct)
    {
        if (files.Count == 1) return await FileSha256Async(files[0].Path, ct);
        var root = Path.GetDirectoryName(files[0].Path)!;
        var common = files.Select(f => Path.GetDirectoryName(f.Path)!).Aggregate(root, CommonPrefix);
        var listing = new StringBuilder();
        foreach (var f in files)
            listing.Append(Path.GetRelativePath(common, f.Path).Replace('\\', '/')).Append('\t').Append(await FileSha256Async(f.Path, ct)).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(listing.ToString())));
    }

    private static async Task<string> FileSha256Async(string path, CancellationToken ct)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
    }

    private static string CommonPrefix(string a, string b)
    {
        while (!(b + Path.DirectorySeparatorChar).StartsWith(a + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            a = Path.GetDirectoryName(a) ?? "";
        return a;
    }
}
