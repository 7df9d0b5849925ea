using System.Text.RegularExpressions;
using FunctionGemma.DataPrep.Sources;

namespace FunctionGemma.DataPrep.Tests;

/// <summary>The Hub client against a local Kestrel server speaking the Hub's HTTP API (no internet here).</summary>
public sealed class HuggingFaceHubTests : IAsyncLifetime
{
    private FakeHub _hub = null!;
    private readonly string _cache = Directory.CreateTempSubdirectory("fg-hub-cache-").FullName;
    private readonly HttpClient _http = new();

    public async ValueTask InitializeAsync() => _hub = await FakeHub.StartAsync(await SampleData.SampleParquetBytesAsync(), token: "hf_secret");

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _hub.DisposeAsync();
        Directory.Delete(_cache, true);
    }

    private HuggingFaceHub Client(string? token = "hf_secret") => new(_http, _hub.Endpoint, _cache, token);

    [Fact]
    public async Task Resolve_pins_the_revision_to_a_commit_and_sends_the_token_as_bearer()
    {
        var rev = await Client().ResolveDatasetAsync(FakeHub.Repo, "main", TestContext.Current.CancellationToken);
        Assert.Equal(FakeHub.Sha, rev.Sha);
        var shard = Assert.Single(rev.Files, f => f.Path == FakeHub.Shard);
        Assert.Equal(_hub.Parquet.Length, shard.Size);
        Assert.NotNull(shard.Sha256);
        Assert.Contains("Bearer hf_secret", _hub.Authorizations);
        Assert.Contains(_hub.Requests, r => r.StartsWith($"GET /api/datasets/{FakeHub.Repo}/revision/main"));
    }

    [Fact]
    public async Task Unknown_repo_or_missing_token_is_an_argument_error_naming_the_repo()
    {
        var ct = TestContext.Current.CancellationToken;
        var e1 = await Assert.ThrowsAsync<ArgumentException>(() => Client().ResolveDatasetAsync("someone/nothing", "main", ct));
        Assert.Contains("someone/nothing", e1.Message);
        var e2 = await Assert.ThrowsAsync<ArgumentException>(() => Client(token: null).ResolveDatasetAsync(FakeHub.Repo, "main", ct));
        Assert.Contains("HF_TOKEN", e2.Message);
    }

    [Fact]
    public async Task Download_lands_in_the_sha_keyed_cache_and_is_not_repeated()
    {
        var ct = TestContext.Current.CancellationToken;
        var hub = Client();
        var rev = await hub.ResolveDatasetAsync(FakeHub.Repo, "main", ct);
        var file = rev.Files.Single(f => f.Path == FakeHub.Shard);
        var reports = new List<FetchProgress>();
        var path = await hub.DownloadAsync(rev, file, new SyncProgress(reports), ct);
        Assert.StartsWith(Path.Combine(_cache, "hf", "datasets", "interstellarninja", "hermes_reasoning_tool_use", FakeHub.Sha), path);
        Assert.Equal(_hub.Parquet, await File.ReadAllBytesAsync(path, ct));
        Assert.Equal(_hub.Parquet.Length, reports[^1].Done);
        int downloads = _hub.Requests.Count(r => r.Contains("/resolve/"));
        Assert.Equal(path, await hub.DownloadAsync(rev, file, null, ct));
        Assert.Equal(downloads, _hub.Requests.Count(r => r.Contains("/resolve/")));
    }

    [Fact]
    public async Task A_dropped_download_resumes_with_a_range_request()
    {
        var ct = TestContext.Current.CancellationToken;
        var cache = Path.Combine(_cache, "resume");
        var hub = new HuggingFaceHub(_http, _hub.Endpoint, cache, "hf_secret");
        var rev = await hub.ResolveDatasetAsync(FakeHub.Repo, FakeHub.Sha, ct);
        _hub.DropAfterBytes = 30_000;
        var path = await hub.DownloadAsync(rev, rev.Files.Single(f => f.Path == FakeHub.Shard), null, ct);
        Assert.Equal(_hub.Parquet, await File.ReadAllBytesAsync(path, ct));
        // The retry asks only for what the dropped connection did not deliver (what arrived of the first 30,000 bytes stays).
        var resumed = Assert.Single(_hub.Requests, r => r.Contains("/resolve/") && r.Contains("bytes="));
        Assert.InRange(long.Parse(Regex.Match(resumed, @"bytes=(\d+)-$").Groups[1].Value), 1, 30_000);
        Assert.False(File.Exists(path + ".part"));
    }

    [Fact]
    public async Task A_partial_file_from_an_earlier_process_is_continued_not_restarted()
    {
        var ct = TestContext.Current.CancellationToken;
        var cache = Path.Combine(_cache, "partial");
        var hub = new HuggingFaceHub(_http, _hub.Endpoint, cache, "hf_secret");
        var rev = await hub.ResolveDatasetAsync(FakeHub.Repo, "main", ct);
        var target = Path.Combine(hub.SnapshotDir(FakeHub.Repo, FakeHub.Sha), "data", "train-00000-of-00001.parquet");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        await File.WriteAllBytesAsync(target + ".part", _hub.Parquet[..12345], ct);
        var path = await hub.DownloadAsync(rev, rev.Files.Single(f => f.Path == FakeHub.Shard), null, ct);
        Assert.Equal(_hub.Parquet, await File.ReadAllBytesAsync(path, ct));
        Assert.Contains(_hub.Requests, r => r.EndsWith("bytes=12345-"));
    }

    [Fact]
    public async Task A_download_that_does_not_match_the_lfs_sha256_is_rejected()
    {
        var ct = TestContext.Current.CancellationToken;
        var hub = new HuggingFaceHub(_http, _hub.Endpoint, Path.Combine(_cache, "corrupt"), "hf_secret");
        var rev = await hub.ResolveDatasetAsync(FakeHub.Repo, "main", ct);
        var file = rev.Files.Single(f => f.Path == FakeHub.Shard) with { Sha256 = new string('0', 64) };
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => hub.DownloadAsync(rev, file, null, ct));
        Assert.Contains("sha256", e.Message);
    }

    private sealed class SyncProgress(List<FetchProgress> into) : IProgress<FetchProgress>
    {
        public void Report(FetchProgress value) => into.Add(value);
    }
}
