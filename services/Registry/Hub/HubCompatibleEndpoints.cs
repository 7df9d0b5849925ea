using System.Globalization;
using System.Text.Json.Nodes;
using FunctionGemma.Protos;
using FunctionGemma.Registry.Store;
using Microsoft.Net.Http.Headers;

namespace FunctionGemma.Registry.Hub;

/// <summary>
/// The read side of the Hugging Face Hub API over the Registry, so that <c>HF_ENDPOINT=http://registry:port</c> lets
/// huggingface_hub / transformers download a version: repo id = model name, revision = version id, alias, or "main"
/// (= latest). hf_hub_download HEADs <c>/{repo}/resolve/{rev}/{file}</c> and reads X-Repo-Commit (the snapshot folder),
/// ETag (the cache blob name) and Content-Length (checked against the downloaded size); 404s carry X-Error-Code
/// RepoNotFound / RevisionNotFound / EntryNotFound, which it turns into its typed errors.
/// </summary>
public static class HubCompatibleEndpoints
{
    private const string RepoCommitHeader = "X-Repo-Commit";
    private const string ErrorCodeHeader = "X-Error-Code";
    private const string ErrorMessageHeader = "X-Error-Message";
    private static readonly string[] ReadMethods = ["GET", "HEAD"];

    public static IEndpointRouteBuilder MapHubCompatibleApi(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/{repo}/resolve/{rev}/{**file}", ReadMethods, (HttpContext http, string repo, string rev, string file, ModelRegistry registry) =>
            ResolveAsync(http, repo, rev, file, registry)).ExcludeFromDescription();
        app.MapMethods("/{ns}/{repo}/resolve/{rev}/{**file}", ReadMethods, (HttpContext http, string ns, string repo, string rev, string file, ModelRegistry registry) =>
            ResolveAsync(http, $"{ns}/{repo}", rev, file, registry)).ExcludeFromDescription();

        app.MapGet("/api/models/{repo}", (HttpContext http, string repo, ModelRegistry registry) => InfoAsync(http, repo, "main", registry));
        app.MapGet("/api/models/{ns}/{repo}", (HttpContext http, string ns, string repo, ModelRegistry registry) => InfoAsync(http, $"{ns}/{repo}", "main", registry));
        app.MapGet("/api/models/{repo}/revision/{rev}", (HttpContext http, string repo, string rev, ModelRegistry registry) => InfoAsync(http, repo, rev, registry));
        app.MapGet("/api/models/{ns}/{repo}/revision/{rev}", (HttpContext http, string ns, string repo, string rev, ModelRegistry registry) => InfoAsync(http, $"{ns}/{repo}", rev, registry));

        app.MapGet("/api/models/{repo}/tree/{rev}/{**path}", (HttpContext http, string repo, string rev, string? path, ModelRegistry registry) => TreeAsync(http, repo, rev, path, registry));
        app.MapGet("/api/models/{ns}/{repo}/tree/{rev}/{**path}", (HttpContext http, string ns, string repo, string rev, string? path, ModelRegistry registry) => TreeAsync(http, $"{ns}/{repo}", rev, path, registry));
        return app;
    }

    private static async Task<IResult> ResolveAsync(HttpContext http, string repo, string rev, string file, ModelRegistry registry)
    {
        var ct = http.RequestAborted;
        var (version, error) = await FindAsync(repo, rev, registry, ct);
        if (version is null) return error!;
        var entry = version.Files.FirstOrDefault(f => f.Path == file);
        if (entry is null) return NotFound("EntryNotFound", $"{file} does not exist in {repo} at revision {rev} (version {version.Version}).");

        var etag = new EntityTagHeaderValue($"\"{entry.Sha256}\"");
        http.Response.Headers[RepoCommitHeader] = version.Version;
        http.Response.Headers.ETag = etag.ToString();
        if (HttpMethods.IsHead(http.Request.Method))
        {
            // A HEAD only describes the file: no bytes leave, so there is nothing to verify yet.
            http.Response.ContentLength = entry.Size;
            http.Response.ContentType = "application/octet-stream";
            http.Response.Headers.AcceptRanges = "bytes";
            return Results.Empty;
        }
        FileStream stream;
        try { stream = await registry.OpenVerifiedAsync(entry, ct); }
        catch (CorruptBlobException e)
        {
            http.Response.Headers.Remove(RepoCommitHeader);
            http.Response.Headers.Remove(HeaderNames.ETag);
            return Results.Problem(e.Message, statusCode: StatusCodes.Status500InternalServerError, title: "Corrupt blob");
        }
        RegistryTelemetry.BytesPulled.Add(entry.Size);
        return Results.File(stream, "application/octet-stream", lastModified: version.Created.ToDateTimeOffset(), entityTag: etag, enableRangeProcessing: true);
    }

    private static async Task<IResult> InfoAsync(HttpContext http, string repo, string rev, ModelRegistry registry)
    {
        var (version, error) = await FindAsync(repo, rev, registry, http.RequestAborted);
        if (version is null) return error!;
        var created = version.Created.ToDateTimeOffset().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        var info = new JsonObject
        {
            ["_id"] = version.Version,
            ["id"] = repo,
            ["modelId"] = repo,
            ["sha"] = version.Version,
            ["lastModified"] = created,
            ["createdAt"] = created,
            ["private"] = false,
            ["disabled"] = false,
            ["gated"] = false,
            ["downloads"] = 0,
            ["likes"] = 0,
            ["library_name"] = "transformers",
            ["pipeline_tag"] = "text-generation",
            ["tags"] = new JsonArray("transformers", "safetensors", "functiongemma"),
            ["siblings"] = new JsonArray(version.Files.Select(f => (JsonNode)new JsonObject
            {
                ["rfilename"] = f.Path,
                ["size"] = f.Size,
                ["blobId"] = f.Sha256,
                ["lfs"] = new JsonObject { ["sha256"] = f.Sha256, ["size"] = f.Size, ["pointerSize"] = 134 },
            }).ToArray()),
            ["usedStorage"] = version.Files.Sum(f => f.Size),
        };
        if (version.BaseModel.Length > 0) info["cardData"] = new JsonObject { ["base_model"] = version.BaseModel };
        http.Response.Headers[RepoCommitHeader] = version.Version;
        return Results.Text(info.ToJsonString(), "application/json");
    }

    private static async Task<IResult> TreeAsync(HttpContext http, string repo, string rev, string? path, ModelRegistry registry)
    {
        var (version, error) = await FindAsync(repo, rev, registry, http.RequestAborted);
        if (version is null) return error!;
        var prefix = string.IsNullOrEmpty(path) ? "" : path.TrimEnd('/') + "/";
        var recursive = http.Request.Query["recursive"] is { Count: > 0 } r && r[0] is "true" or "1" or "True";
        var under = version.Files.Where(f => f.Path.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        if (prefix.Length > 0 && under.Count == 0) return NotFound("EntryNotFound", $"{path} does not exist in {repo} at revision {rev}.");
        var entries = new JsonArray();
        var directories = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var f in under)
        {
            var rest = f.Path[prefix.Length..];
            var slash = rest.IndexOf('/');
            if (slash >= 0)
            {
                directories.Add(prefix + rest[..slash]);
                if (!recursive) continue;
            }
            entries.Add(new JsonObject
            {
                ["type"] = "file", ["oid"] = f.Sha256, ["size"] = f.Size, ["path"] = f.Path,
                ["lfs"] = new JsonObject { ["oid"] = f.Sha256, ["size"] = f.Size, ["pointerSize"] = 134 },
            });
        }
        foreach (var d in directories) entries.Add(new JsonObject { ["type"] = "directory", ["oid"] = "", ["size"] = 0, ["path"] = d });
        return Results.Text(entries.ToJsonString(), "application/json");
    }

    private static async Task<(ModelVersion? Version, IResult? Error)> FindAsync(string repo, string rev, ModelRegistry registry, CancellationToken ct)
    {
        rev = Uri.UnescapeDataString(rev);
        if (!await registry.NameExistsAsync(repo)) return (null, NotFound("RepoNotFound", $"Repository {repo} not found: no model of that name is registered."));
        var version = await registry.ResolveAsync(repo, rev, ct);
        return version is null ? (null, NotFound("RevisionNotFound", $"Invalid rev id: {rev} (not a version id or alias of {repo}).")) : (version, null);
    }

    private static IResult NotFound(string code, string message) => new HubError(code, message);

    private sealed class HubError(string code, string message) : IResult
    {
        public Task ExecuteAsync(HttpContext http)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            http.Response.Headers[ErrorCodeHeader] = code;
            http.Response.Headers[ErrorMessageHeader] = message;
            if (HttpMethods.IsHead(http.Request.Method)) return Task.CompletedTask;
            return http.Response.WriteAsJsonAsync(new { error = message }, http.RequestAborted);
        }
    }
}
