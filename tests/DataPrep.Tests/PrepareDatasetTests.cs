using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using FunctionGemma.Core.Sampling;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using Grpc.Core;

namespace FunctionGemma.DataPrep.Tests;

/// <summary>DataPrep end to end: its gRPC API over HTTP/2 on real Kestrel, a real redis-server, the fake Hub.</summary>
[Collection(nameof(PrepareDatasetTests))]
public sealed class PrepareDatasetTests(DataPrepHost host) : IClassFixture<DataPrepHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static DatasetSpec Sample(int total = 202, int eval = 20, ulong seed = 40) =>
        new() { Source = "sample", Seed = seed, Total = total, Eval = eval };

    private async Task<(DatasetManifest Manifest, List<PrepareProgress> Events)> Prepare(DatasetSpec spec)
    {
        using var call = host.Client.PrepareDataset(spec, cancellationToken: Ct);
        var events = new List<PrepareProgress>();
        await foreach (var e in call.ResponseStream.ReadAllAsync(Ct)) events.Add(e);
        var last = events[^1];
        Assert.Equal(PrepareProgress.EventOneofCase.Done, last.EventCase);
        return (last.Done, events);
    }

    private async Task<List<Protos.CleanRow>> ReadRows(string version, Split split, long offset = 0, long limit = 0)
    {
        using var call = host.Client.ReadRows(new ReadRowsRequest { Ref = new DatasetRef { Version = version }, Split = split, Offset = offset, Limit = limit }, cancellationToken: Ct);
        var rows = new List<Protos.CleanRow>();
        await foreach (var r in call.ResponseStream.ReadAllAsync(Ct)) rows.Add(r);
        return rows;
    }

    [Fact]
    public async Task Preparing_the_sample_twice_gives_one_version_and_an_identical_manifest()
    {
        await host.FlushAsync();
        var (first, firstEvents) = await Prepare(Sample());
        var (second, secondEvents) = await Prepare(Sample());

        Assert.Equal(first, second);
        // An empty rules field means the reference rules: the same version.
        Assert.Equal(first, (await Prepare(new DatasetSpec(Sample()) { Rules = "reference" })).Manifest);
        Assert.Matches("^[0-9a-f]{64}$", first.Ref.Version);
        Assert.Equal(1, await host.Db.SortedSetLengthAsync(RedisKeys.DatasetIndex));
        Assert.Contains(firstEvents, e => e.Progress?.Stage == "clean");
        // The second run is a no-op: it pins the source and returns the manifest without cleaning or writing.
        Assert.DoesNotContain(secondEvents, e => e.Progress?.Stage is "clean" or "read");
        Assert.Equal(first.TrainRows, await host.Db.StreamLengthAsync(RedisKeys.DatasetRows(first.Ref.Version, "train")));
        Assert.Equal(first.EvalRows, await host.Db.StreamLengthAsync(RedisKeys.DatasetRows(first.Ref.Version, "eval")));
        Assert.Equal(first, await host.Client.GetDatasetAsync(first.Ref, cancellationToken: Ct));
        Assert.Equal(first, Assert.Single((await host.Client.ListDatasetsAsync(new ListDatasetsRequest(), cancellationToken: Ct)).Datasets));
    }

    [Fact]
    public async Task Stored_rows_are_the_reference_clean_rows_of_the_seeded_subset_in_shuffled_order()
    {
        var (manifest, events) = await Prepare(Sample());
        var split = SubsetSplit.Create(202, 40, 202, 182);
        var expectedTrain = split.Train.Select(i => SampleData.ExpectedRows[i]).Where(r => r.Kept).ToList();
        var expectedEval = split.Eval.Select(i => SampleData.ExpectedRows[i]).Where(r => r.Kept).ToList();

        Assert.Equal(expectedTrain.Count, manifest.TrainRows);
        Assert.Equal(expectedEval.Count, manifest.EvalRows);
        var expectedDrops = SampleData.ExpectedRows.Where(r => !r.Kept).GroupBy(r => Snake(r.Drop!)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(expectedDrops.OrderBy(d => d.Key), manifest.Drops.Where(d => d.Value > 0).OrderBy(d => d.Key));
        Assert.Equal("reference", manifest.Spec.Rules);
        Assert.Equal(CleaningRules.Reference.Version, manifest.RulesVersion);

        foreach (var (splitName, expected) in new[] { (Split.Train, expectedTrain), (Split.Eval, expectedEval) })
        {
            var rows = await ReadRows(manifest.Ref.Version, splitName);
            Assert.Equal(expected.Count, rows.Count);
            for (int i = 0; i < rows.Count; i++)
            {
                Assert.Equal(i, rows[i].Index);
                Assert.Equal(expected[i].UserContent, rows[i].UserContent);
                Assert.Equal(expected[i].ToolName, rows[i].ToolName);
                Assert.Equal(expected[i].ToolArguments, rows[i].ToolArgumentsJson);
                Assert.Equal(expected[i].ToolsJson, rows[i].ToolsJson);
            }
        }

        // The storage API the Trainer and Evaluator use reads the same rows; rows_sha256 covers their canonical JSON lines.
        var reader = new DatasetRows(host.Redis.Connection);
        var train = await reader.ReadAsync(manifest.Ref.Version, Split.Train, ct: Ct);
        var eval = await reader.ReadAsync(manifest.Ref.Version, Split.Eval, ct: Ct);
        var canonical = string.Concat(train.Concat(eval).Select(r => r.ToJson() + "\n"));
        Assert.Equal(manifest.RowsSha256, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))));
        Assert.Equal(split.Train.Where(i => SampleData.ExpectedRows[i].Kept).Select(i => (long)i), train.Select(r => r.SourceRow));

        // Every row carries the W3C traceparent of the prepare span, which is also the manifest's lineage.
        Assert.Matches(new Regex("^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"), manifest.Lineage.Traceparent);
        Assert.Equal(manifest.Lineage.Traceparent, await reader.TraceparentAsync(manifest.Ref.Version, Split.Eval, 0, Ct));
    }

    [Fact]
    public async Task Progress_streams_per_rule_drop_counts_and_ends_with_the_manifest()
    {
        await host.FlushAsync();
        var (manifest, events) = await Prepare(Sample());
        var cleaning = events.Where(e => e.Progress?.Stage == "clean").ToList();
        Assert.True(cleaning.Count > 2);
        Assert.All(events, e => Assert.Equal(manifest.Ref.Version, e.Version is { Length: > 0 } v ? v : manifest.Ref.Version));
        Assert.Equal(manifest.Drops.OrderBy(d => d.Key), cleaning[^1].Drops.OrderBy(d => d.Key));
        Assert.Equal(202, cleaning[^1].Progress.Done);
        Assert.True(cleaning.Zip(cleaning.Skip(1)).All(p => p.First.Progress.Done <= p.Second.Progress.Done));
    }

    [Fact]
    public async Task ReadRows_pages_by_offset_and_limit()
    {
        var (manifest, _) = await Prepare(Sample());
        var all = await ReadRows(manifest.Ref.Version, Split.Train);
        var page = await ReadRows(manifest.Ref.Version, Split.Train, offset: 10, limit: 5);
        Assert.Equal(all.Skip(10).Take(5), page);
        Assert.Equal(all.Skip(all.Count - 3), await ReadRows(manifest.Ref.Version, Split.Train, offset: all.Count - 3, limit: 100));
        Assert.Empty(await ReadRows(manifest.Ref.Version, Split.Train, offset: all.Count + 5));
    }

    [Fact]
    public async Task An_interrupted_prepare_leaves_no_manifest_and_a_retry_completes_with_the_same_version_and_rows()
    {
        await host.FlushAsync();
        var (reference, _) = await Prepare(Sample());
        var referenceRows = await ReadRows(reference.Ref.Version, Split.Train);
        await host.FlushAsync();

        // Cancel the prepare as soon as the first batch of rows is in Redis.
        var preparer = host.Get<DatasetPreparer>();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => preparer.PrepareAsync(Sample(), p =>
        {
            if (p.Progress?.Stage == "clean" && p.Progress.Done > 0) cts.Cancel();
            return Task.CompletedTask;
        }, cts.Token));

        var version = reference.Ref.Version;
        Assert.False(await host.Db.KeyExistsAsync(RedisKeys.DatasetManifest(version)));
        Assert.Equal(0, await host.Db.SortedSetLengthAsync(RedisKeys.DatasetIndex));
        Assert.False(await host.Db.KeyExistsAsync(RedisKeys.DatasetLock(version)));
        var partial = await host.Db.StreamLengthAsync(RedisKeys.DatasetRows(version, "train"));
        Assert.InRange(partial, 1, reference.TrainRows - 1);
        var notFound = await Assert.ThrowsAsync<RpcException>(() => host.Client.GetDatasetAsync(reference.Ref, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
        var unreadable = await Assert.ThrowsAsync<RpcException>(() => ReadRows(version, Split.Train));
        Assert.Equal(StatusCode.NotFound, unreadable.StatusCode);

        var (retried, events) = await Prepare(Sample());
        Assert.Contains(events, e => e.Progress?.Stage == "cleanup");
        Assert.Equal(version, retried.Ref.Version);
        Assert.Equal(reference.RowsSha256, retried.RowsSha256);
        Assert.Equal(reference.TrainRows, retried.TrainRows);
        Assert.Equal(reference.Drops, retried.Drops);
        Assert.Equal(referenceRows, await ReadRows(version, Split.Train));
        Assert.Equal(retried.TrainRows, await host.Db.StreamLengthAsync(RedisKeys.DatasetRows(version, "train")));
    }

    [Fact]
    public async Task A_client_cancelling_PrepareDataset_midway_leaves_nothing_complete_and_frees_the_version()
    {
        await host.FlushAsync();
        var hubCache = Path.Combine(host.CacheDir, "hf");
        if (Directory.Exists(hubCache)) Directory.Delete(hubCache, recursive: true);
        var spec = new DatasetSpec { Source = $"hf:{FakeHub.Repo}", Seed = 11, Total = 100, Eval = 10 };
        host.Hub.DownloadDelay = TimeSpan.FromSeconds(30);
        string version;
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            using var call = host.Client.PrepareDataset(spec, cancellationToken: cts.Token);
            Assert.True(await call.ResponseStream.MoveNext(cts.Token));
            // The first event after pinning carries the version; the download is now hanging on the Hub.
            while (string.IsNullOrEmpty(call.ResponseStream.Current.Version)) Assert.True(await call.ResponseStream.MoveNext(cts.Token));
            version = call.ResponseStream.Current.Version;
            await Task.Delay(300, Ct);
            cts.Cancel();
            var e = await Assert.ThrowsAsync<RpcException>(async () => { while (await call.ResponseStream.MoveNext(cts.Token)) { } });
            Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        }
        finally { host.Hub.DownloadDelay = null; }

        // The server stops, releases the version's lock and writes no manifest.
        for (int i = 0; i < 50 && await host.Db.KeyExistsAsync(RedisKeys.DatasetLock(version)); i++) await Task.Delay(100, Ct);
        Assert.False(await host.Db.KeyExistsAsync(RedisKeys.DatasetLock(version)));
        Assert.False(await host.Db.KeyExistsAsync(RedisKeys.DatasetManifest(version)));
        var (retried, _) = await Prepare(spec);
        Assert.Equal(version, retried.Ref.Version);
        Assert.Equal(FakeHub.Sha, retried.SourceRevision);
    }

    [Fact]
    public async Task Concurrent_prepares_of_one_spec_write_one_version_once()
    {
        await host.FlushAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Prepare(Sample(total: 150, eval: 30, seed: 7))));
        Assert.All(results, r => Assert.Equal(results[0].Manifest, r.Manifest));
        Assert.Equal(1, await host.Db.SortedSetLengthAsync(RedisKeys.DatasetIndex));
        Assert.Equal(results[0].Manifest.TrainRows, await host.Db.StreamLengthAsync(RedisKeys.DatasetRows(results[0].Manifest.Ref.Version, "train")));
    }

    [Fact]
    public async Task Local_parquet_jsonl_and_hub_copies_of_the_sample_give_the_same_rows_under_their_own_versions()
    {
        var sample = (await Prepare(Sample(total: 0, eval: 25))).Manifest;
        var parquet = (await Prepare(new DatasetSpec { Source = "parquet:" + SampleData.ParquetPath, Seed = 40, Eval = 25 })).Manifest;
        var jsonl = (await Prepare(new DatasetSpec { Source = "jsonl:" + SampleData.JsonlPath, Seed = 40, Eval = 25 })).Manifest;
        var hub = (await Prepare(new DatasetSpec { Source = $"hf:{FakeHub.Repo}", Seed = 40, Eval = 25 })).Manifest;

        Assert.Equal(4, new[] { sample, parquet, jsonl, hub }.Select(m => m.Ref.Version).Distinct().Count());
        Assert.All(new[] { parquet, jsonl, hub }, m => Assert.Equal(sample.RowsSha256, m.RowsSha256));
        Assert.Equal(FakeHub.Sha, hub.SourceRevision);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await SampleData.SampleParquetBytesAsync())), parquet.SourceRevision);
        Assert.Contains("Bearer hf_test_token", host.Hub.Authorizations);
        // The pinned revision is what the version hashes: asking by sha gives the same version as asking by branch.
        Assert.Equal(hub.Ref.Version, (await Prepare(new DatasetSpec { Source = $"hf:{FakeHub.Repo}@{FakeHub.Sha}", Seed = 40, Eval = 25 })).Manifest.Ref.Version);
    }

    public static TheoryData<string, ulong, int, int, string, string> BadSpecs => new()
    {
        { "", 40, 10, 2, "", "DatasetSpec.source" },
        { "ftp:somewhere", 40, 10, 2, "", "DatasetSpec.source" },
        { "parquet:/nonexistent/data.parquet", 40, 10, 2, "", "DatasetSpec.source" },
        { "jsonl:", 40, 10, 2, "", "DatasetSpec.source" },
        { "hf:not-a-repo", 40, 10, 2, "", "DatasetSpec.source" },
        { "hf:nobody/nothing", 40, 10, 2, "", "nobody/nothing" },
        { "sample", 40, -1, 0, "", "DatasetSpec.total" },
        { "sample", 40, 10, -2, "", "DatasetSpec.eval" },
        { "sample", 40, 10, 11, "", "DatasetSpec.eval" },
        { "sample", 40, 3000, 300, "", "DatasetSpec.total" },
        { "sample", 40, 0, 500, "", "DatasetSpec.eval" },
        { "sample", 40, 10, 2, "better", "DatasetSpec.rules" },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public async Task Bad_specs_are_invalid_argument_naming_the_field(string source, ulong seed, int total, int eval, string rules, string named)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Prepare(new DatasetSpec { Source = source, Seed = seed, Total = total, Eval = eval, Rules = rules }));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(named, e.Status.Detail);
    }

    [Fact]
    public async Task Files_of_the_wrong_format_or_columns_are_invalid_arguments()
    {
        var wrongKind = await Assert.ThrowsAsync<RpcException>(() => Prepare(new DatasetSpec { Source = "jsonl:" + SampleData.ParquetPath, Total = 10 }));
        Assert.Equal(StatusCode.InvalidArgument, wrongKind.StatusCode);
        Assert.Contains("not a jsonl file", wrongKind.Status.Detail);

        var path = Path.Combine(host.CacheDir, "garbage.jsonl");
        await File.WriteAllTextAsync(path, "not json at all\n", Ct);
        var garbage = await Assert.ThrowsAsync<RpcException>(() => Prepare(new DatasetSpec { Source = "jsonl:" + path, Total = 1 }));
        Assert.Equal(StatusCode.InvalidArgument, garbage.StatusCode);
        Assert.Contains("line 1", garbage.Status.Detail);
    }

    [Fact]
    public async Task Reading_unknown_versions_or_unspecified_splits_fails_clearly()
    {
        var unknown = new DatasetRef { Version = new string('a', 64) };
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => host.Client.GetDatasetAsync(unknown, cancellationToken: Ct).ResponseAsync)).StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => host.Client.GetDatasetAsync(new DatasetRef(), cancellationToken: Ct).ResponseAsync)).StatusCode);
        var (manifest, _) = await Prepare(Sample());
        var e = await Assert.ThrowsAsync<RpcException>(() => ReadRows(manifest.Ref.Version, Split.Unspecified));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("split", e.Status.Detail);
    }

    [Fact]
    public async Task Metrics_count_cleaned_rows_and_drops_by_reason()
    {
        await host.FlushAsync();
        var scope = host.Get<IMeterFactory>();
        var counts = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DataPrepMetrics.Name && instrument.Meter.Scope == scope) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var t in tags) if (t.Key == "reason") key += ":" + t.Value;
            lock (counts) counts[key] = counts.GetValueOrDefault(key) + value;
        });
        listener.Start();

        var (manifest, _) = await Prepare(Sample(total: 120, eval: 20, seed: 3));
        Assert.Equal(manifest.TrainRows + manifest.EvalRows, counts["fg.dataprep.rows.cleaned"]);
        foreach (var (reason, n) in manifest.Drops.Where(d => d.Value > 0))
            Assert.Equal(n, counts[$"fg.dataprep.rows.dropped:{reason}"]);
    }

    private static string Snake(string pascal) => Regex.Replace(pascal, "(?<=[a-z])([A-Z])", "_$1").ToLowerInvariant();
}
