using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace FunctionGemma.DataPrep.Tests;

/// <summary>
/// The two Hub endpoints DataPrep uses, served from loopback by real Kestrel: the revision API and file resolve,
/// with Range support, a required bearer token, and an optional dropped connection halfway through a download.
/// </summary>
public sealed class FakeHub : IAsyncDisposable
{
    public const string Repo = "interstellarninja/hermes_reasoning_tool_use";
    public const string Sha = "0123456789abcdef0123456789abcdef01234567";
    public const string Shard = "data/train-00000-of-00001.parquet";

    private readonly WebApplication _app;

    private FakeHub(WebApplication app, byte[] parquet, string? token)
    {
        _app = app;
        Parquet = parquet;
        Token = token;
    }

    public byte[] Parquet { get; }

    public string? Token { get; }

    public Uri Endpoint { get; private set; } = null!;

    /// <summary>When set, the next full download sends this many bytes and then drops the connection.</summary>
    public int? DropAfterBytes { get; set; }

    /// <summary>When set, file downloads wait this long before sending anything.</summary>
    public TimeSpan? DownloadDelay { get; set; }

    /// <summary>Every request as "METHOD path [range]", in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public ConcurrentQueue<string?> Authorizations { get; } = new();

    public static async Task<FakeHub> StartAsync(byte[] parquet, string? token = null)
    {
        var port = Loopback.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        // The test output holds DataPrep's appsettings.json; its Kestrel endpoints are not this server's.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = $"http://127.0.0.1:{port}" });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var hub = new FakeHub(app, parquet, token) { Endpoint = new Uri($"http://127.0.0.1:{port}/") };
        var lfsSha = Convert.ToHexStringLower(SHA256.HashData(parquet));

        app.Use(async (ctx, next) =>
        {
            hub.Requests.Enqueue($"{ctx.Request.Method} {ctx.Request.Path} {ctx.Request.Headers.Range}".TrimEnd());
            hub.Authorizations.Enqueue(ctx.Request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null);
            if (hub.Token is { } t && ctx.Request.Headers.Authorization != $"Bearer {t}") { ctx.Response.StatusCode = 401; return; }
            await next(ctx);
        });
        app.MapGet("/api/datasets/{owner}/{name}/revision/{rev}", (string owner, string name, string rev) =>
            $"{owner}/{name}" == Repo && rev is "main" or Sha
                ? Results.Json(new
                {
                    id = Repo,
                    sha = Sha,
                    siblings = new object[]
                    {
                        new { rfilename = ".gitattributes", size = 10 },
                        new { rfilename = "README.md", size = 100 },
                        new { rfilename = Shard, size = parquet.Length, lfs = new { sha256 = lfsSha, size = parquet.Length, pointerSize = 133 } },
                    },
                })
                : Results.NotFound());
        app.MapGet("/datasets/{owner}/{name}/resolve/{rev}/{**path}", async (HttpContext ctx, string owner, string name, string rev, string path) =>
        {
            if ($"{owner}/{name}" != Repo || rev != Sha || path != Shard) { ctx.Response.StatusCode = 404; return; }
            if (hub.DownloadDelay is { } delay) await Task.Delay(delay, ctx.RequestAborted);
            long from = 0;
            if (ctx.Request.Headers.Range.ToString() is { Length: > 0 } range && range.StartsWith("bytes=") && range.EndsWith('-'))
                from = long.Parse(range["bytes=".Length..^1]);
            if (from >= hub.Parquet.Length) { ctx.Response.StatusCode = 416; return; }
            ctx.Response.StatusCode = from > 0 ? 206 : 200;
            if (from > 0) ctx.Response.Headers.ContentRange = $"bytes {from}-{hub.Parquet.Length - 1}/{hub.Parquet.Length}";
            ctx.Response.ContentLength = hub.Parquet.Length - from;
            if (from == 0 && hub.DropAfterBytes is { } drop)
            {
                hub.DropAfterBytes = null;
                await ctx.Response.Body.WriteAsync(hub.Parquet.AsMemory(0, drop));
                await ctx.Response.Body.FlushAsync();
                // Let the bytes reach the client before the reset (a TCP RST discards unread data).
                await Task.Delay(300);
                ctx.Abort();
                return;
            }
            await ctx.Response.Body.WriteAsync(hub.Parquet.AsMemory((int)from));
        });
        await app.StartAsync();
        return hub;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
