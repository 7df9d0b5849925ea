using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FunctionGemma.DataPrep.Sources;

/// <summary>A file of a Hub repository at a commit, as the revision API lists it.</summary>
/// <param name="Path">Path inside the repository (<c>rfilename</c>).</param>
/// <param name="Size">Size in bytes when the API gave it.</param>
/// <param name="Sha256">The LFS sha256 when the file is in LFS.</param>
public sealed record HubFile(string Path, long? Size, string? Sha256);

/// <summary>A dataset repository pinned to a commit.</summary>
/// <param name="Repo">owner/name.</param>
/// <param name="Sha">The commit sha the requested revision pointed at.</param>
/// <param name="Files">Every file of the repository at that commit.</param>
public sealed record HubDatasetRevision(string Repo, string Sha, IReadOnlyList<HubFile> Files);

/// <summary>
/// The Hugging Face Hub over its HTTP API: <c>GET /api/datasets/{repo}/revision/{rev}?blobs=true</c> pins a revision to a
/// commit sha, <c>GET /datasets/{repo}/resolve/{sha}/{file}</c> downloads a file. Files land in a cache keyed by commit sha;
/// an interrupted download continues from its <c>.part</c> file with an HTTP Range request. An <c>HF_TOKEN</c> is sent as a
/// bearer token (HttpClient drops it on redirects to the CDN).
/// </summary>
public sealed partial class HuggingFaceHub(HttpClient http, Uri endpoint, string cacheDir, string? token)
{
    private const int Attempts = 4;
    private const int ReportEvery = 1 << 20;

    /// <summary>The directory a commit's files are cached in.</summary>
    public string SnapshotDir(string repo, string sha) => Path.Combine(cacheDir, "hf", "datasets", repo.Replace('/', Path.DirectorySeparatorChar), sha);

    /// <summary>Pins a dataset revision (branch, tag or sha) to its commit and lists its files.</summary>
    /// <exception cref="ArgumentException">The repository or revision does not exist, or the token may not read it.</exception>
    public async Task<HubDatasetRevision> ResolveDatasetAsync(string repo, string revision, CancellationToken ct)
    {
        if (!RepoId().IsMatch(repo)) throw new ArgumentException($"'{repo}' is not a Hub repository id (OWNER/NAME).", nameof(repo));
        var url = new Uri(endpoint, $"api/datasets/{repo}/revision/{Uri.EscapeDataString(revision)}?blobs=true");
        using var request = Authorized(new HttpRequestMessage(HttpMethod.Get, url));
        using var response = await http.SendAsync(request, ct);
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            throw new ArgumentException(
                $"Hub dataset '{repo}' at revision '{revision}' was not found ({(int)response.StatusCode}). Check the name and revision; set HF_TOKEN for private or gated data.");
        response.EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(ct));
        var root = doc.RootElement;
        var sha = root.TryGetProperty("sha", out var s) ? s.GetString() : null;
        if (string.IsNullOrEmpty(sha)) throw new InvalidDataException($"The Hub's answer for '{repo}@{revision}' has no commit sha.");
        var files = new List<HubFile>();
        if (root.TryGetProperty("siblings", out var siblings))
            foreach (var f in siblings.EnumerateArray())
            {
                var name = f.GetProperty("rfilename").GetString()!;
                long? size = f.TryGetProperty("size", out var sz) && sz.ValueKind == JsonValueKind.Number ? sz.GetInt64() : null;
                string? lfsSha = f.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object && lfs.TryGetProperty("sha256", out var ls) ? ls.GetString() : null;
                files.Add(new HubFile(name, size, lfsSha));
            }
        return new HubDatasetRevision(repo, sha, files);
    }

    /// <summary>
    /// The local path of a file of a pinned revision, downloaded into the cache unless already there. Downloads go to
    /// <c>FILE.part</c>, resume from its length after an interruption, are checked against the LFS sha256 and size,
    /// and are renamed into place only when complete.
    /// </summary>
    public async Task<string> DownloadAsync(HubDatasetRevision revision, HubFile file, IProgress<FetchProgress>? progress, CancellationToken ct)
    {
        var target = Path.Combine(SnapshotDir(revision.Repo, revision.Sha), file.Path.Replace('/', Path.DirectorySeparatorChar));
        if (File.Exists(target)) return target;
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var part = target + ".part";
        var url = new Uri(endpoint, $"datasets/{revision.Repo}/resolve/{revision.Sha}/{string.Join('/', file.Path.Split('/').Select(Uri.EscapeDataString))}");

        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await DownloadToPartAsync(url, part, file, progress, ct);
                break;
            }
            catch (Exception e) when (attempt < Attempts && e is HttpRequestException or IOException && !ct.IsCancellationRequested)
            {
                // Transient: the next attempt resumes from what the .part file holds.
                await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt), ct);
            }
        }

        if (file.Size is { } size && new FileInfo(part).Length != size)
        {
            File.Delete(part);
            throw new InvalidDataException($"Downloaded '{file.Path}' has {new FileInfo(part).Length} bytes, expected {size}; retry the request.");
        }
        if (file.Sha256 is { } expected)
        {
            await using (var stream = File.OpenRead(part))
            {
                var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
                if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
                {
                    File.Delete(part);
                    throw new InvalidDataException($"Downloaded '{file.Path}' has sha256 {actual}, expected {expected}; retry the request.");
                }
            }
        }
        File.Move(part, target, overwrite: true);
        return target;
    }

    private async Task DownloadToPartAsync(Uri url, string part, HubFile file, IProgress<FetchProgress>? progress, CancellationToken ct)
    {
        long have = File.Exists(part) ? new FileInfo(part).Length : 0;
        if (file.Size is { } size && have == size) return;
        using var request = Authorized(new HttpRequestMessage(HttpMethod.Get, url));
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable) return; // the .part is already whole
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            throw new ArgumentException($"Hub file '{file.Path}' could not be downloaded ({(int)response.StatusCode}); set HF_TOKEN for private or gated data.");
        response.EnsureSuccessStatusCode();
        bool resumed = response.StatusCode == HttpStatusCode.PartialContent;
        if (!resumed) have = 0; // the server ignored the range: start over
        long total = file.Size ?? (response.Content.Headers.ContentLength is { } len ? len + have : -1);

        await using var body = await response.Content.ReadAsStreamAsync(ct);
        await using var output = new FileStream(part, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        var buffer = new byte[1 << 16];
        long sinceReport = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, ct)) > 0)
        {
            await output.WriteAsync(buffer.AsMemory(0, read), ct);
            have += read;
            sinceReport += read;
            if (sinceReport >= ReportEvery) { progress?.Report(new FetchProgress(file.Path, have, total)); sinceReport = 0; }
        }
        progress?.Report(new FetchProgress(file.Path, have, total));
    }

    private HttpRequestMessage Authorized(HttpRequestMessage request)
    {
        if (!string.IsNullOrWhiteSpace(token)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex RepoId();
}
