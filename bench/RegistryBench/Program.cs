// Registry pull throughput over gRPC on loopback for a model the size of FunctionGemma 270M in bf16 (~540 MB).
// Starts a real redis-server and the Registry host (RegistryApp), registers a random-weights model directory, then
// pulls it (1) as a raw PullModel stream that only counts bytes and (2) with PullToDirectoryAsync, which also writes
// and re-hashes every file. The server verifies each blob's sha256 before sending its first byte, in both.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FunctionGemma.Protos;
using FunctionGemma.Registry;
using FunctionGemma.Registry.Client;
using Grpc.Core;
using Grpc.Net.Client;

if (args is ["serve", var serveName, var serveDir, var servePort, .. var serveAliases])
{
    await ServeAsync(serveName, serveDir, int.Parse(servePort), serveAliases);
    return;
}

var megabytes = args.Length > 0 ? int.Parse(args[0]) : 540;
var chunkSizes = args.Length > 1 ? args[1..].Select(a => int.Parse(a) * 1024).ToArray() : [1 << 20, 4 << 20];
var redisBinary = Environment.GetEnvironmentVariable("REDIS_SERVER") ?? "/usr/bin/redis-server";
var work = Directory.CreateTempSubdirectory("fg-regbench-").FullName;
Console.WriteLine($"work dir {work}; model {megabytes} MB; cores {Environment.ProcessorCount}");

var model = Path.Combine(work, "model");
Directory.CreateDirectory(model);
File.WriteAllText(Path.Combine(model, "config.json"), """{"architectures":["Gemma3ForCausalLM"],"model_type":"gemma3_text"}""");
var weightsBytes = (long)megabytes * 1_000_000;
await using (var w = File.Create(Path.Combine(model, "model.safetensors")))
{
    var buffer = new byte[1 << 22];
    for (long left = weightsBytes; left > 0; left -= buffer.Length)
    {
        Random.Shared.NextBytes(buffer);
        await w.WriteAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)));
    }
}

var redisPort = FreePort();
using var redis = Process.Start(new ProcessStartInfo(redisBinary, ["--port", redisPort.ToString(), "--bind", "127.0.0.1", "--dir", work, "--save", "", "--appendonly", "no"]) { RedirectStandardOutput = true })!;
await Task.Delay(300);
try
{
    foreach (var chunk in chunkSizes)
    {
        var grpcPort = FreePort();
        var app = RegistryApp.Build([
            $"--ConnectionStrings:redis=127.0.0.1:{redisPort}",
            $"--Registry:Root={Path.Combine(work, "registry")}",
            $"--Registry:ChunkBytes={chunk}",
            $"--Kestrel:Endpoints:http:Url=http://127.0.0.1:{FreePort()}",
            $"--Kestrel:Endpoints:grpc:Url=http://127.0.0.1:{grpcPort}",
            "--Kestrel:Endpoints:grpc:Protocols=Http2",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        var tuned = Environment.GetEnvironmentVariable("BENCH_WINDOW_MB") is { } mb ? int.Parse(mb) << 20 : 0;
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}", new GrpcChannelOptions
        {
            MaxReceiveMessageSize = 16 << 20,
            HttpHandler = tuned > 0 ? RegistryClientExtensions.CreateBulkTransferHandler() : null,
        });
        var client = new Registry.RegistryClient(channel);

        var sw = Stopwatch.StartNew();
        var version = await client.RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = new RegisterHeader { Name = "bench-model" }, Path = model });
        var registerSeconds = sw.Elapsed.TotalSeconds;
        var total = version.Files.Sum(f => f.Size);

        // Warm-up (page cache, JIT), then the measured raw stream.
        await CountAsync(client, version.Version);
        sw.Restart();
        var streamed = await CountAsync(client, version.Version);
        var rawSeconds = sw.Elapsed.TotalSeconds;
        if (streamed != total) throw new InvalidOperationException($"streamed {streamed} of {total} bytes");

        var target = Path.Combine(work, $"pulled-{chunk}");
        sw.Restart();
        await client.PullToDirectoryAsync(version.Version, target);
        var dirSeconds = sw.Elapsed.TotalSeconds;
        Directory.Delete(target, recursive: true);

        sw.Restart();
        await using (var f = File.OpenRead(Path.Combine(model, "model.safetensors"))) await System.Security.Cryptography.SHA256.HashDataAsync(f);
        var hashSeconds = sw.Elapsed.TotalSeconds;
        sw.Restart();
        await client.UploadDirectoryAsync(new RegisterHeader { Name = "bench-upload" }, model, chunkBytes: 1 << 20);
        var uploadSeconds = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"client handler {(tuned > 0 ? "bulk (16 MiB window)" : "default"),20} | sha256 alone {total / hashSeconds / 1e6,5:F0} MB/s | chunk {chunk / 1024,5} KiB | register(dir) {total / registerSeconds / 1e6,7:F0} MB/s | " +
                          $"PullModel stream {total / rawSeconds / 1e6,7:F0} MB/s ({rawSeconds:F2} s) | PullToDirectory {total / dirSeconds / 1e6,7:F0} MB/s ({dirSeconds:F2} s) | upload (RegisterModel) {total / uploadSeconds / 1e6,5:F0} MB/s | {total / 1e6:F0} MB");
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
finally
{
    redis.Kill();
    Directory.Delete(work, recursive: true);
}

// `serve NAME DIR HTTP_PORT [ALIAS...]`: redis-server + the Registry with DIR registered as NAME, its HF-compatible API on
// HTTP_PORT, until SIGTERM; prints "READY <version>" once it answers. Used to let Python transformers load from it.
static async Task ServeAsync(string name, string dir, int httpPort, string[] aliases)
{
    var work = Directory.CreateTempSubdirectory("fg-regserve-").FullName;
    var redisPort = FreePort();
    using var redis = Process.Start(new ProcessStartInfo(Environment.GetEnvironmentVariable("REDIS_SERVER") ?? "/usr/bin/redis-server",
        ["--port", redisPort.ToString(), "--bind", "127.0.0.1", "--dir", work, "--save", "", "--appendonly", "no"]) { RedirectStandardOutput = true })!;
    await Task.Delay(500);
    var grpcPort = FreePort();
    var app = RegistryApp.Build([
        $"--ConnectionStrings:redis=127.0.0.1:{redisPort}",
        $"--Registry:Root={Path.Combine(work, "registry")}",
        $"--Kestrel:Endpoints:http:Url=http://127.0.0.1:{httpPort}",
        $"--Kestrel:Endpoints:grpc:Url=http://127.0.0.1:{grpcPort}",
        "--Kestrel:Endpoints:grpc:Protocols=Http2",
        "--Logging:LogLevel:Default=Warning",
        "--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=Information",
    ]);
    await app.StartAsync();
    using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
    var header = new RegisterHeader { Name = name, BaseModel = "google/functiongemma-270m-it" };
    header.Aliases.AddRange(aliases);
    var version = await new Registry.RegistryClient(channel).RegisterDirectoryAsync(new RegisterDirectoryRequest { Header = header, Path = Path.GetFullPath(dir) });
    Console.WriteLine($"READY {version.Version} {string.Join(",", version.Files.Select(f => f.Path))}");
    var stop = new TaskCompletionSource();
    using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
    await stop.Task;
    await app.StopAsync();
    redis.Kill();
}

static async Task<long> CountAsync(Registry.RegistryClient client, string version)
{
    using var call = client.PullModel(new PullModelRequest { Ref = version });
    long bytes = 0;
    await foreach (var c in call.ResponseStream.ReadAllAsync()) bytes += c.Data.Length;
    return bytes;
}

static int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}
