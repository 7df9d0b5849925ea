// DataPrep benchmark: 51,004 synthetic Hermes rows (the sample's 202 rows cycled, each task made unique) written as
// one parquet file, then (1) parse+clean alone, (2) a full PrepareDataset of every row into a real redis-server
// (read parquet, shuffle, clean, XADD), (3) the no-op re-run, (4) Redis memory per stored row from INFO memory.
//   dotnet run -c Release --project bench/DataPrepBench [-- ROWS]
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using FunctionGemma.Core;
using FunctionGemma.Core.Hermes;
using FunctionGemma.DataPrep;
using FunctionGemma.DataPrep.Sources;
using FunctionGemma.Protos;
using FunctionGemma.Storage.Hermes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

int rowCount = args.Length > 0 ? int.Parse(args[0]) : 51_004;
var work = Directory.CreateTempSubdirectory("fg-dataprep-bench-").FullName;
void Report(object o) => Console.WriteLine(JsonSerializer.Serialize(o));

// Synthetic rows.
var sample = new List<HermesRow>();
await foreach (var r in HermesFiles.ReadAsync(HermesFiles.Discover(Path.Combine(RepoPaths.Root(), "samples", "hermes-sample.jsonl")))) sample.Add(r.Row);
var rows = new List<HermesRow>(rowCount);
for (int i = 0; i < rowCount; i++)
{
    var s = sample[i % sample.Count];
    var suffix = $" (#{i})";
    var turns = s.Conversations.Select(t => t.Value is { } v && (t.From == "human") && s.Task is { Length: > 0 } task && v.Contains(task)
        ? t with { Value = v.Replace(task, task + suffix) } : t).ToList();
    rows.Add(s with { Conversations = turns, Task = s.Task is { Length: > 0 } tk ? tk + suffix : s.Task });
}
var parquet = Path.Combine(work, "synthetic.parquet");
var sw = Stopwatch.StartNew();
await HermesFiles.WriteParquetAsync(rows, parquet);
Report(new { step = "write_parquet", rows = rowCount, seconds = sw.Elapsed.TotalSeconds, bytes = new FileInfo(parquet).Length });

// (1) Clean only, in memory.
sw.Restart();
int kept = 0;
foreach (var r in rows) if (HermesCleaner.Clean(r).Kept) kept++;
Report(new { step = "clean_only", rows = rowCount, kept, seconds = sw.Elapsed.TotalSeconds, rows_per_s = rowCount / sw.Elapsed.TotalSeconds });

// A real redis-server.
int port;
using (var l = new TcpListener(IPAddress.Loopback, 0)) { l.Start(); port = ((IPEndPoint)l.LocalEndpoint).Port; }
using var redisProcess = Process.Start(new ProcessStartInfo("redis-server")
{
    ArgumentList = { "--port", port.ToString(), "--bind", "127.0.0.1", "--dir", work, "--save", "", "--appendonly", "no" },
    RedirectStandardOutput = true,
})!;
ConnectionMultiplexer? redis = null;
for (int i = 0; redis is null; i++)
{
    try { redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},allowAdmin=true"); }
    catch (RedisConnectionException) when (i < 50) { await Task.Delay(100); }
}
var server = redis.GetServer(redis.GetEndPoints()[0]);
async Task<long> UsedMemory() => long.Parse((await server.InfoAsync("memory")).SelectMany(g => g).First(kv => kv.Key == "used_memory").Value);

try
{
    var services = new ServiceCollection()
        .AddLogging(b => b.SetMinimumLevel(LogLevel.Warning))
        .AddMetrics()
        .AddSingleton<IConnectionMultiplexer>(redis)
        .AddSingleton(TimeProvider.System)
        .AddSingleton<DataPrepMetrics>()
        .AddSingleton<HermesSources>()
        .AddSingleton<DatasetPreparer>();
    services.AddHttpClient();
    services.AddOptions<DataPrepOptions>().Configure(o => o.CacheDir = work);
    using var provider = services.BuildServiceProvider();
    var preparer = provider.GetRequiredService<DatasetPreparer>();

    // (2) Full prepare: every row, 10 % eval.
    var spec = new DatasetSpec { Source = "parquet:" + parquet, Seed = 40, Total = 0, Eval = rowCount / 10 };
    var before = await UsedMemory();
    sw.Restart();
    var manifest = await preparer.PrepareAsync(spec, _ => Task.CompletedTask, CancellationToken.None);
    var prepareSeconds = sw.Elapsed.TotalSeconds;
    var after = await UsedMemory();
    long stored = manifest.TrainRows + manifest.EvalRows;
    Report(new
    {
        step = "prepare_all_rows", rows = rowCount, stored, drops = manifest.Drops, seconds = prepareSeconds, rows_per_s = rowCount / prepareSeconds,
        stored_rows_per_s = stored / prepareSeconds,
    });
    Report(new { step = "redis_memory", stored_rows = stored, used_memory_delta = after - before, bytes_per_row = (after - before) / (double)stored,
        mean_row_json_bytes = (await new FunctionGemma.Storage.DatasetRows(redis).ReadAsync(manifest.Ref.Version, Split.Eval)).Average(r => System.Text.Encoding.UTF8.GetByteCount(r.ToJson())) });

    // (3) The same spec again: a no-op that returns the manifest.
    sw.Restart();
    var again = await preparer.PrepareAsync(spec, _ => Task.CompletedTask, CancellationToken.None);
    Report(new { step = "prepare_again_noop", same = again.Equals(manifest), seconds = sw.Elapsed.TotalSeconds });

    // (5) The reference recipe's subset of the same file: seed 40, 3000 rows, 300 eval.
    sw.Restart();
    var reference = await preparer.PrepareAsync(new DatasetSpec { Source = "parquet:" + parquet, Seed = 40, Total = 3000, Eval = 300 }, _ => Task.CompletedTask, CancellationToken.None);
    Report(new { step = "prepare_reference_subset", train = reference.TrainRows, eval = reference.EvalRows, seconds = sw.Elapsed.TotalSeconds });

    // Reading back: what the Trainer does.
    sw.Restart();
    var train = await new FunctionGemma.Storage.DatasetRows(redis).ReadAsync(manifest.Ref.Version, Split.Train);
    Report(new { step = "read_train_rows", rows = train.Count, seconds = sw.Elapsed.TotalSeconds, rows_per_s = train.Count / sw.Elapsed.TotalSeconds });
}
finally
{
    await redis.DisposeAsync();
    redisProcess.Kill();
    await redisProcess.WaitForExitAsync();
    Directory.Delete(work, true);
}
