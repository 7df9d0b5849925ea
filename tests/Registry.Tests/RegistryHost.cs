using FunctionGemma.Protos;
using FunctionGemma.Registry.Client;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace FunctionGemma.Registry.Tests;

/// <summary>
/// The real Registry host (RegistryApp, as Program runs it) on Kestrel: gRPC over HTTP/2 and the HF-compatible API over
/// HTTP/1.1 on free loopback ports, a real redis-server, a temporary blob root and a fake Hugging Face Hub.
/// One per test class.
/// </summary>
public sealed class RegistryHost : IAsyncLifetime
{
    private RedisServer? redis;
    private WebApplication? app;

    public string Root { get; } = Directory.CreateTempSubdirectory("fg-registry-").FullName;

    /// <summary>Where tests make model folders and pull targets; removed with the host.</summary>
    public string Scratch { get; } = Directory.CreateTempSubdirectory("fg-registry-scratch-").FullName;

    public string NewDir() => Directory.CreateDirectory(Path.Combine(Scratch, Guid.NewGuid().ToString("N"))).FullName;
    public FakeHub Hub { get; } = new();
    public Uri HttpAddress { get; private set; } = null!;
    public GrpcChannel Channel { get; private set; } = null!;
    public Protos.Registry.RegistryClient Client { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public string RedisConnectionString => redis!.ConnectionString;

    /// <summary>Small chunks so that the test files span several PullModel messages.</summary>
    public const int ChunkBytes = 64 * 1024;

    public async ValueTask InitializeAsync()
    {
        redis = await RedisServer.StartAsync();
        await Hub.StartAsync();
        var httpPort = Loopback.FreePort();
        var grpcPort = Loopback.FreePort();
        app = RegistryApp.Build([
            $"--ConnectionStrings:redis={redis.ConnectionString}",
            $"--Registry:Root={Root}",
            $"--Registry:ChunkBytes={ChunkBytes}",
            $"--Registry:ImportRoots:0={Path.GetTempPath()}",
            $"--HuggingFace:Endpoint={Hub.Address}",
            $"--HuggingFace:Token={FakeHub.GoodToken}",
            $"--Kestrel:Endpoints:http:Url=http://127.0.0.1:{httpPort}",
            "--Kestrel:Endpoints:http:Protocols=Http1",
            $"--Kestrel:Endpoints:grpc:Url=http://127.0.0.1:{grpcPort}",
            "--Kestrel:Endpoints:grpc:Protocols=Http2",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        HttpAddress = new Uri($"http://127.0.0.1:{httpPort}");
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}", new GrpcChannelOptions { MaxReceiveMessageSize = RegistryClientExtensions.MaxMessageBytes, HttpHandler = RegistryClientExtensions.CreateBulkTransferHandler() });
        Client = new Protos.Registry.RegistryClient(Channel);
        Http = new HttpClient { BaseAddress = HttpAddress };
    }

    public string BlobPath(string sha256) => Path.Combine(Root, "blobs", "sha256", sha256[..2], sha256);

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        Channel?.Dispose();
        if (app is not null) { await app.StopAsync(); await app.DisposeAsync(); }
        await Hub.DisposeAsync();
        if (redis is not null) await redis.DisposeAsync();
        foreach (var dir in new[] { Root, Scratch })
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>A model directory with the files from_pretrained reads, random weights of a chosen size.</summary>
public static class ModelFixture
{
    public static string Create(string parent, int weightBytes = 700_000, int seed = 1)
    {
        var dir = Directory.CreateDirectory(Path.Combine(parent, $"model-{Guid.NewGuid():N}")).FullName;
        var rng = new Random(seed);
        var weights = new byte[weightBytes];
        rng.NextBytes(weights);
        File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), weights);
        File.WriteAllText(Path.Combine(dir, "config.json"), $$"""{"architectures":["Gemma3ForCausalLM"],"model_type":"gemma3_text","seed":{{seed}}}""");
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), """{"do_sample":false,"max_new_tokens":128}""");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"tokenizer_class":"GemmaTokenizer"}""");
        var tokenizer = new byte[40_000];
        rng.NextBytes(tokenizer);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), Convert.ToBase64String(tokenizer));
        File.WriteAllText(Path.Combine(dir, "chat_template.jinja"), "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}");
        Directory.CreateDirectory(Path.Combine(dir, ".cache"));
        File.WriteAllText(Path.Combine(dir, ".cache", "ignored.txt"), "not part of the model");
        return dir;
    }

    public static RegisterHeader Header(string name, double toolAccuracy = 0.9, params string[] aliases)
    {
        var header = new RegisterHeader
        {
            Name = name,
            BaseModel = "google/functiongemma-270m-it",
            Dataset = new DatasetRef { Version = new string('d', 64) },
            TrainSpecJson = """{"lr":5e-5,"epochs":2}""",
            Lineage = new Lineage { ExperimentId = "exp-42", CodeVersion = "abc1234", Creator = "tests", Traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
        };
        header.EvalReportIds.Add("report-1");
        header.Metrics["tool_accuracy"] = toolAccuracy;
        header.Aliases.AddRange(aliases);
        return header;
    }
}
