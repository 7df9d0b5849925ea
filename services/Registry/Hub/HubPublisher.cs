using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FunctionGemma.Protos;
using FunctionGemma.Registry.Store;
using FunctionGemma.Storage;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FunctionGemma.Registry.Hub;

/// <summary>
/// Publishes a model version to the Hugging Face Hub over its HTTP API, the way huggingface_hub's upload_folder does:
/// create the repo, ask preupload which files go through LFS, upload those through the LFS batch API (basic or
/// multipart, whichever the Hub answers), then one NDJSON commit naming every file. Files are read from verified blobs.
/// </summary>
public sealed class HubPublisher(IHttpClientFactory http, IOptions<HubOptions> options, IConfiguration configuration,
    ModelRegistry registry, IConnectionMultiplexer redis, ILogger<HubPublisher> logger)
{
    public const string HttpClientName = "huggingface-hub";
    private static readonly string[] WeightFiles = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"];

    public async Task<PublishResult> PublishAsync(ModelVersion version, string repoId, bool isPrivate, string? revision, string? commitMessage, CancellationToken ct)
    {
        ModelNames.ValidateName(repoId);
        revision = string.IsNullOrWhiteSpace(revision) ? "main" : revision;
        if (!version.Files.Any(f => f.Path == "config.json") || !version.Files.Any(f => WeightFiles.Contains(f.Path)))
            throw new InvalidOperationException($"Version {version.Version} lacks config.json or weights (model.safetensors): from_pretrained could not load it, so it is not published.");
        var token = options.Value.Token is { Length: > 0 } t ? t : configuration["HF_TOKEN"];
        if (string.IsNullOrWhiteSpace(token))
            throw new UnauthorizedAccessException("No Hugging Face token: set configuration HuggingFace:Token or the HF_TOKEN environment variable to a token with write access.");

        using var activity = RegistryTelemetry.Start("registry.publish", version.Lineage?.Traceparent, ActivityKind.Client);
        activity?.SetTag("model.version", version.Version);
        activity?.SetTag("hub.repo_id", repoId);
        activity?.SetTag("hub.revision", revision);
        var started = Stopwatch.GetTimestamp();
        var outcome = "error";
        try
        {
            var client = new HubClient(http.CreateClient(HttpClientName), options.Value.Endpoint.TrimEnd('/'), token);
            await client.CreateRepoAsync(repoId, isPrivate, ct);
            if (revision != "main") await client.CreateBranchAsync(repoId, revision, ct);

            var card = Encoding.UTF8.GetBytes(ModelCard.Render(version, repoId));
            var files = version.Files.Where(f => f.Path != "README.md").Select(f => new HubFile(f.Path, f.Size, f.Sha256, null))
                .Append(HubFile.FromBytes("README.md", card)).ToList();

            foreach (var f in files.Where(f => f.Content is null)) f.Sample = await SampleAsync(f, ct);
            var modes = await client.PreuploadAsync(repoId, revision, files, ct);
            files = files.Where(f => !modes[f.Path].Ignore).ToList();
            var lfs = files.Where(f => modes[f.Path].Lfs).ToList();
            if (lfs.Count > 0) await client.UploadLfsAsync(repoId, revision, lfs, f => OpenAsync(f, ct), ct);

            var commit = await client.CommitAsync(repoId, revision, commitMessage is { Length: > 0 } m ? m : $"Publish {version.Name} version {version.Version[..12]} from FunctionGemma.Aspire",
                $"Registry version {version.Version}", files, f => modes[f.Path].Lfs, f => OpenAsync(f, ct), ct);

            await redis.GetDatabase().HashSetAsync(RedisKeys.ModelPublications(version.Version), $"{repoId}@{revision}", commit);
            activity?.SetTag("hub.commit", commit);
            logger.LogInformation("Published {Version} to {RepoId}@{Revision} as commit {Commit} ({Files} files, {Lfs} through LFS)",
                version.Version, repoId, revision, commit, files.Count, lfs.Count);
            outcome = "ok";
            return new PublishResult { RepoId = repoId, CommitSha = commit, Url = $"{options.Value.Endpoint.TrimEnd('/')}/{repoId}" + (revision == "main" ? "" : $"/tree/{Uri.EscapeDataString(revision)}") };
        }
        catch (UnauthorizedAccessException) { outcome = "unauthorized"; throw; }
        finally
        {
            RegistryTelemetry.Publishes.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
            RegistryTelemetry.PublishSeconds.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    private async Task<byte[]> SampleAsync(HubFile f, CancellationToken ct)
    {
        await using var s = await OpenAsync(f, ct);
        var sample = new byte[Math.Min(512, f.Size)];
        await s.ReadExactlyAsync(sample, ct);
        return sample;
    }

    private async Task<Stream> OpenAsync(HubFile f, CancellationToken ct) =>
        f.Content is { } bytes ? new MemoryStream(bytes, writable: false) : await registry.OpenVerifiedAsync(new ModelFile { Path = f.Path, Size = f.Size, Sha256 = f.Sha256 }, ct);
}

/// <summary>One file of a Hub commit: a stored blob, or bytes made at publish time (the model card).</summary>
internal sealed class HubFile(string path, long size, string sha256, byte[]? content)
{
    public string Path { get; } = path;
    public long Size { get; } = size;
    public string Sha256 { get; } = sha256;
    public byte[]? Content { get; } = content;
    public byte[] Sample { get; set; } = content is null ? [] : content[..Math.Min(512, content.Length)];

    public static HubFile FromBytes(string path, byte[] bytes) =>
        new(path, bytes.Length, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), bytes);
}

internal readonly record struct UploadMode(bool Lfs, bool Ignore);

/// <summary>The Hub's HTTP endpoints used for publishing. The token goes only into Authorization headers, never into logs or messages.</summary>
internal sealed class HubClient(HttpClient http, string endpoint, string token)
{
    private const string LfsMediaType = "application/vnd.git-lfs+json";

    public async Task CreateRepoAsync(string repoId, bool isPrivate, CancellationToken ct)
    {
        var slash = repoId.IndexOf('/');
        var body = new JsonObject { ["name"] = slash < 0 ? repoId : repoId[(slash + 1)..], ["private"] = isPrivate, ["type"] = "model" };
        if (slash > 0) body["organization"] = repoId[..slash];
        using var response = await SendAsync(HttpMethod.Post, "/api/repos/create", JsonContent.Create(body), ct);
        // 409: the repo exists already, which is what we want.
        if (response.StatusCode != HttpStatusCode.Conflict) await EnsureAsync(response, $"create repo {repoId}", ct);
    }

    public async Task CreateBranchAsync(string repoId, string branch, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Post, $"/api/models/{repoId}/branch/{Uri.EscapeDataString(branch)}", JsonContent.Create(new JsonObject()), ct);
        if (response.StatusCode != HttpStatusCode.Conflict) await EnsureAsync(response, $"create branch {branch} of {repoId}", ct);
    }

    public async Task<Dictionary<string, UploadMode>> PreuploadAsync(string repoId, string revision, IReadOnlyList<HubFile> files, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["files"] = new JsonArray(files.Select(f => (JsonNode)new JsonObject
            {
                ["path"] = f.Path, ["sample"] = Convert.ToBase64String(f.Sample), ["size"] = f.Size,
            }).ToArray()),
        };
        using var response = await SendAsync(HttpMethod.Post, $"/api/models/{repoId}/preupload/{Uri.EscapeDataString(revision)}", JsonContent.Create(body), ct);
        await EnsureAsync(response, $"preupload to {repoId}", ct);
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>(ct) ?? throw Malformed("preupload");
        var modes = new Dictionary<string, UploadMode>(StringComparer.Ordinal);
        foreach (var f in answer["files"]?.AsArray() ?? throw Malformed("preupload"))
            modes[(string)f!["path"]!] = new UploadMode((string?)f["uploadMode"] == "lfs", (bool?)f["shouldIgnore"] ?? false);
        foreach (var f in files.Where(f => !modes.ContainsKey(f.Path))) modes[f.Path] = new UploadMode(f.Size > 10 * 1024 * 1024, false);
        return modes;
    }

    public async Task UploadLfsAsync(string repoId, string revision, IReadOnlyList<HubFile> files, Func<HubFile, Task<Stream>> open, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["operation"] = "upload",
            ["transfers"] = new JsonArray("basic", "multipart"),
            ["hash_algo"] = "sha256",
            ["ref"] = new JsonObject { ["name"] = revision },
            ["objects"] = new JsonArray(files.Select(f => (JsonNode)new JsonObject { ["oid"] = f.Sha256, ["size"] = f.Size }).ToArray()),
        };
        var content = new StringContent(body.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(LfsMediaType);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{endpoint}/{repoId}.git/info/lfs/objects/batch") { Content = content };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(LfsMediaType));
        Authorize(request);
        using var response = await http.SendAsync(request, ct);
        await EnsureAsync(response, $"LFS batch for {repoId}", ct);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))?.AsObject() ?? throw Malformed("LFS batch");

        foreach (var obj in answer["objects"]?.AsArray() ?? throw Malformed("LFS batch"))
        {
            var oid = (string?)obj!["oid"] ?? throw Malformed("LFS batch");
            var file = files.FirstOrDefault(f => f.Sha256 == oid) ?? throw Malformed($"LFS batch (unknown oid {oid})");
            if (obj["error"] is { } error)
                throw new InvalidOperationException($"The Hub refused LFS object {file.Path} ({oid}): {(string?)error["message"]} (code {error["code"]}).");
            // No actions: the Hub already holds this object.
            if (obj["actions"]?["upload"] is not JsonObject upload) continue;
            var header = upload["header"]?.AsObject();
            if (header?["chunk_size"] is { } chunkNode)
                await UploadMultipartAsync(file, (string)upload["href"]!, header, long.Parse((string)chunkNode!, System.Globalization.CultureInfo.InvariantCulture), open, ct);
            else
                await UploadBasicAsync(file, (string)upload["href"]!, header, open, ct);
            if (obj["actions"]?["verify"] is JsonObject verify)
            {
                using var vreq = new HttpRequestMessage(HttpMethod.Post, (string)verify["href"]!) { Content = JsonContent.Create(new JsonObject { ["oid"] = oid, ["size"] = file.Size }) };
                AddHeaders(vreq, verify["header"]?.AsObject());
                Authorize(vreq);
                using var vres = await http.SendAsync(vreq, ct);
                await EnsureAsync(vres, $"LFS verify of {file.Path}", ct);
            }
        }
    }

    private async Task UploadBasicAsync(HubFile file, string href, JsonObject? header, Func<HubFile, Task<Stream>> open, CancellationToken ct)
    {
        await using var stream = await open(file);
        using var request = new HttpRequestMessage(HttpMethod.Put, href) { Content = new StreamContent(stream, 1 << 20) };
        request.Content.Headers.ContentLength = file.Size;
        AddHeaders(request, header);
        using var response = await http.SendAsync(request, ct);
        await EnsureAsync(response, $"LFS upload of {file.Path}", ct);
    }

    private async Task UploadMultipartAsync(HubFile file, string completionHref, JsonObject header, long chunkSize, Func<HubFile, Task<Stream>> open, CancellationToken ct)
    {
        var parts = header.Where(kv => kv.Key.Length > 0 && kv.Key.All(char.IsAsciiDigit))
            .Select(kv => (Number: int.Parse(kv.Key, System.Globalization.CultureInfo.InvariantCulture), Url: (string)kv.Value!))
            .OrderBy(p => p.Number).ToList();
        if (chunkSize <= 0 || parts.Count != (file.Size + chunkSize - 1) / chunkSize)
            throw new InvalidOperationException($"The Hub asked for a multipart upload of {file.Path} with {parts.Count} parts of {chunkSize} bytes, which does not cover {file.Size} bytes.");
        var etags = new JsonArray();
        await using var stream = await open(file);
        var buffer = new byte[(int)Math.Min(chunkSize, file.Size)];
        foreach (var (number, url) in parts)
        {
            var n = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct);
            using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = new ByteArrayContent(buffer, 0, n) };
            using var response = await http.SendAsync(request, ct);
            await EnsureAsync(response, $"part {number} of {file.Path}", ct);
            var etag = response.Headers.ETag?.ToString() ?? (response.Headers.TryGetValues("ETag", out var v) ? v.FirstOrDefault() : null);
            if (string.IsNullOrEmpty(etag)) throw new InvalidOperationException($"The Hub's storage returned no ETag for part {number} of {file.Path}.");
            etags.Add(new JsonObject { ["partNumber"] = number, ["etag"] = etag });
        }
        var completion = new StringContent(new JsonObject { ["oid"] = file.Sha256, ["parts"] = etags }.ToJsonString(), Encoding.UTF8);
        completion.Headers.ContentType = new MediaTypeHeaderValue(LfsMediaType);
        using var creq = new HttpRequestMessage(HttpMethod.Post, completionHref) { Content = completion };
        creq.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(LfsMediaType));
        using var cres = await http.SendAsync(creq, ct);
        await EnsureAsync(cres, $"multipart completion of {file.Path}", ct);
    }

    public async Task<string> CommitAsync(string repoId, string revision, string summary, string description, IReadOnlyList<HubFile> files,
        Func<HubFile, bool> isLfs, Func<HubFile, Task<Stream>> open, CancellationToken ct)
    {
        using var ndjson = new MemoryStream();
        Line("header", new JsonObject { ["summary"] = summary, ["description"] = description });
        foreach (var f in files)
        {
            if (isLfs(f))
            {
                Line("lfsFile", new JsonObject { ["path"] = f.Path, ["algo"] = "sha256", ["oid"] = f.Sha256, ["size"] = f.Size });
                continue;
            }
            await using var s = await open(f);
            using var bytes = new MemoryStream();
            await s.CopyToAsync(bytes, ct);
            Line("file", new JsonObject { ["content"] = Convert.ToBase64String(bytes.GetBuffer(), 0, (int)bytes.Length), ["path"] = f.Path, ["encoding"] = "base64" });
        }
        var content = new ByteArrayContent(ndjson.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        using var response = await SendAsync(HttpMethod.Post, $"/api/models/{repoId}/commit/{Uri.EscapeDataString(revision)}", content, ct);
        await EnsureAsync(response, $"commit to {repoId}@{revision}", ct);
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>(ct) ?? throw Malformed("commit");
        return (string?)answer["commitOid"] ?? throw Malformed("commit (no commitOid)");

        void Line(string key, JsonObject value)
        {
            ndjson.Write(Encoding.UTF8.GetBytes(new JsonObject { ["key"] = key, ["value"] = value }.ToJsonString()));
            ndjson.WriteByte((byte)'\n');
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent content, CancellationToken ct)
    {
        var request = new HttpRequestMessage(method, endpoint + path) { Content = content };
        Authorize(request);
        try { return await http.SendAsync(request, ct); }
        catch (HttpRequestException e) { throw new IOException($"The Hugging Face Hub at {endpoint} did not answer {method} {path}: {e.Message}", e); }
    }

    private void Authorize(HttpRequestMessage request) => request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

    private static void AddHeaders(HttpRequestMessage request, JsonObject? header)
    {
        foreach (var (k, v) in header ?? [])
            if (v is JsonValue && !request.Headers.TryAddWithoutValidation(k, v.ToString()) && request.Content is not null)
                request.Content.Headers.TryAddWithoutValidation(k, v.ToString());
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        var detail = await ErrorDetailAsync(response, ct);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            throw new UnauthorizedAccessException($"The Hugging Face Hub refused to {what} ({(int)response.StatusCode} {response.StatusCode}: {detail}). " +
                "Check that HuggingFace:Token / HF_TOKEN is a valid token with write access to the namespace.");
        throw new InvalidOperationException($"The Hugging Face Hub failed to {what}: {(int)response.StatusCode} {response.StatusCode}: {detail}");
    }

    private static async Task<string> ErrorDetailAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.Headers.TryGetValues("X-Error-Message", out var m)) return string.Join(" ", m);
        var text = await response.Content.ReadAsStringAsync(ct);
        try { if (JsonNode.Parse(text) is JsonObject o && (string?)o["error"] is { } e) return e; }
        catch (JsonException) { }
        return text.Length > 300 ? text[..300] : text;
    }

    private static InvalidOperationException Malformed(string what) => new($"The Hugging Face Hub sent a malformed {what} answer.");
}
