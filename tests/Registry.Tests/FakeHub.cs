using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FunctionGemma.Registry.Tests;

/// <summary>
/// A local stand-in for the Hugging Face Hub's write API on real Kestrel: repo creation, preupload, the LFS batch API
/// (basic for small objects, multipart with chunk_size + part URLs + completion for large ones), and NDJSON commits.
/// It rejects any token but <see cref="GoodToken"/> with 401 like the Hub.
/// </summary>
public sealed class FakeHub : IAsyncDisposable
{
    public const string GoodToken = "hf_fake_good_token";
    public const int MultipartThreshold = 256 * 1024;
    public const int PartSize = 100 * 1024;

    private WebApplication? app;
    private readonly ConcurrentDictionary<string, byte[]> lfsObjects = new();
    private readonly ConcurrentDictionary<(string Oid, int Part), byte[]> parts = new();

    public string Address { get; private set; } = "";
    public string AcceptedToken { get; set; } = GoodToken;
    public ConcurrentDictionary<string, bool> Repos { get; } = new();
    public ConcurrentDictionary<string, bool> Branches { get; } = new();
    /// <summary>repo@revision → path → bytes, as the last commit left them.</summary>
    public ConcurrentDictionary<string, Dictionary<string, byte[]>> Trees { get; } = new();
    public ConcurrentQueue<(string Repo, string Revision, string ContentType, string[] Lines)> Commits { get; } = new();
    public ConcurrentQueue<string> Transfers { get; } = new();
    public ConcurrentQueue<string> Requests { get; } = new();

    public async Task StartAsync()
    {
        var port = Loopback.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        // The Registry's appsettings.json is copied next to the tests: its Kestrel endpoints are not the fake Hub's.
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Kestrel:Endpoints:http:Url"] = $"http://127.0.0.1:{port}" });
        app = builder.Build();
        Address = $"http://127.0.0.1:{port}";
        app.Use(async (ctx, next) =>
        {
            Requests.Enqueue($"{ctx.Request.Method} {ctx.Request.Path}");
            // Storage URLs (presigned on the real Hub) carry no token; the API does.
            if (!ctx.Request.Path.StartsWithSegments("/storage") && ctx.Request.Headers.Authorization != $"Bearer {AcceptedToken}")
            {
                ctx.Response.StatusCode = 401;
                ctx.Response.Headers["X-Error-Message"] = "Invalid credentials in Authorization header";
                await ctx.Response.WriteAsJsonAsync(new { error = "Invalid credentials in Authorization header" });
                return;
            }
            await next();
        });

        app.MapPost("/api/repos/create", async (HttpContext ctx) =>
        {
            var body = (await JsonNode.ParseAsync(ctx.Request.Body))!.AsObject();
            var repo = body["organization"] is { } org ? $"{org}/{body["name"]}" : (string)body["name"]!;
            return Repos.TryAdd(repo, (bool?)body["private"] ?? false)
                ? Results.Json(new { url = $"{Address}/{repo}" })
                : Results.Json(new { error = "You already created this model repo" }, statusCode: 409);
        });

        app.MapPost("/api/models/{ns}/{name}/branch/{branch}", (string ns, string name, string branch) =>
            !Repos.ContainsKey($"{ns}/{name}") ? Results.NotFound()
            : Branches.TryAdd($"{ns}/{name}@{branch}", true) ? Results.Ok() : Results.Json(new { error = "Reference already exists" }, statusCode: 409));

        app.MapPost("/api/models/{ns}/{name}/preupload/{rev}", async (HttpContext ctx, string ns, string name) =>
        {
            if (!Repos.ContainsKey($"{ns}/{name}")) return Results.NotFound();
            var body = (await JsonNode.ParseAsync(ctx.Request.Body))!.AsObject();
            var files = body["files"]!.AsArray().Select(f => new
            {
                path = (string)f!["path"]!,
                uploadMode = (long)f["size"]! > 1024 || ((string)f["path"]!).EndsWith(".safetensors") ? "lfs" : "regular",
                shouldIgnore = false,
            });
            return Results.Json(new { files });
        });

        app.MapPost("/{ns}/{repoGit}/info/lfs/objects/batch", async (HttpContext ctx, string ns, string repoGit) =>
        {
            if (!repoGit.EndsWith(".git") || ctx.Request.ContentType != "application/vnd.git-lfs+json") return Results.BadRequest();
            var body = (await JsonNode.ParseAsync(ctx.Request.Body))!.AsObject();
            if ((string?)body["operation"] != "upload" || (string?)body["hash_algo"] != "sha256") return Results.BadRequest();
            var objects = new JsonArray();
            var multipart = false;
            foreach (var o in body["objects"]!.AsArray())
            {
                var oid = (string)o!["oid"]!;
                var size = (long)o["size"]!;
                var entry = new JsonObject { ["oid"] = oid, ["size"] = size };
                if (!lfsObjects.ContainsKey(oid))
                {
                    JsonObject header;
                    string href;
                    if (size > MultipartThreshold)
                    {
                        multipart = true;
                        header = new JsonObject { ["chunk_size"] = PartSize.ToString() };
                        for (var i = 1; i <= (size + PartSize - 1) / PartSize; i++) header[i.ToString()] = $"{Address}/storage/{oid}/part/{i}";
                        href = $"{Address}/storage/{oid}/complete";
                    }
                    else { header = new JsonObject(); href = $"{Address}/storage/{oid}"; }
                    entry["actions"] = new JsonObject
                    {
                        ["upload"] = new JsonObject { ["href"] = href, ["header"] = header },
                        ["verify"] = new JsonObject { ["href"] = $"{Address}/{ns}/{repoGit}/info/lfs/objects/verify", ["header"] = new JsonObject() },
                    };
                }
                objects.Add(entry);
            }
            Transfers.Enqueue(multipart ? "multipart" : "basic");
            return Results.Text(new JsonObject { ["transfer"] = multipart ? "multipart" : "basic", ["objects"] = objects }.ToJsonString(), "application/vnd.git-lfs+json");
        });

        app.MapPut("/storage/{oid}", async (HttpContext ctx, string oid) =>
        {
            var bytes = await ReadAllAsync(ctx.Request.Body);
            if (Sha(bytes) != oid) return Results.BadRequest("sha256 mismatch");
            lfsObjects[oid] = bytes;
            return Results.Ok();
        });
        app.MapPut("/storage/{oid}/part/{n:int}", async (HttpContext ctx, string oid, int n) =>
        {
            var bytes = await ReadAllAsync(ctx.Request.Body);
            parts[(oid, n)] = bytes;
            ctx.Response.Headers.ETag = $"\"{Sha(bytes)[..32]}\"";
            return Results.Ok();
        });
        app.MapPost("/storage/{oid}/complete", async (HttpContext ctx, string oid) =>
        {
            var body = (await JsonNode.ParseAsync(ctx.Request.Body))!.AsObject();
            if ((string?)body["oid"] != oid) return Results.BadRequest("oid");
            using var all = new MemoryStream();
            foreach (var p in body["parts"]!.AsArray().OrderBy(p => (int)p!["partNumber"]!))
            {
                var bytes = parts[(oid, (int)p!["partNumber"]!)];
                if ((string?)p["etag"] != $"\"{Sha(bytes)[..32]}\"") return Results.BadRequest("etag");
                all.Write(bytes);
            }
            if (Sha(all.ToArray()) != oid) return Results.BadRequest("sha256 mismatch");
            lfsObjects[oid] = all.ToArray();
            return Results.Ok();
        });
        app.MapPost("/{ns}/{repoGit}/info/lfs/objects/verify", async (HttpContext ctx) =>
        {
            var body = (await JsonNode.ParseAsync(ctx.Request.Body))!.AsObject();
            return lfsObjects.TryGetValue((string)body["oid"]!, out var b) && b.Length == (long)body["size"]! ? Results.Ok() : Results.NotFound();
        });

        app.MapPost("/api/models/{ns}/{name}/commit/{rev}", async (HttpContext ctx, string ns, string name, string rev) =>
        {
            var repo = $"{ns}/{name}";
            if (!Repos.ContainsKey(repo) || (rev != "main" && !Branches.ContainsKey($"{repo}@{rev}"))) return Results.NotFound();
            var text = Encoding.UTF8.GetString(await ReadAllAsync(ctx.Request.Body));
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Commits.Enqueue((repo, rev, ctx.Request.ContentType ?? "", lines));
            var tree = Trees.TryGetValue($"{repo}@{rev}", out var t) ? new Dictionary<string, byte[]>(t) : [];
            for (var i = 0; i < lines.Length; i++)
            {
                var line = JsonNode.Parse(lines[i])!.AsObject();
                var key = (string)line["key"]!;
                var value = line["value"]!.AsObject();
                if (i == 0 != (key == "header")) return Results.BadRequest("the header must be the first line, and only the first");
                switch (key)
                {
                    case "file":
                        if ((string?)value["encoding"] != "base64") return Results.BadRequest("encoding");
                        tree[(string)value["path"]!] = Convert.FromBase64String((string)value["content"]!);
                        break;
                    case "lfsFile":
                        if ((string?)value["algo"] != "sha256" || !lfsObjects.TryGetValue((string)value["oid"]!, out var obj) || obj.Length != (long)value["size"]!)
                            return Results.BadRequest($"LFS object of {value["path"]} was never uploaded");
                        tree[(string)value["path"]!] = obj;
                        break;
                    case "header": break;
                    default: return Results.BadRequest($"unknown key {key}");
                }
            }
            Trees[$"{repo}@{rev}"] = tree;
            var commit = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
            return Results.Json(new { commitOid = commit, commitUrl = $"{Address}/{repo}/commit/{commit}" });
        });

        await app.StartAsync();
    }

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static async Task<byte[]> ReadAllAsync(Stream s)
    {
        using var ms = new MemoryStream();
        await s.CopyToAsync(ms);
        return ms.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null) { await app.StopAsync(); await app.DisposeAsync(); }
    }
}
