using FunctionGemma.DataPrep;
using FunctionGemma.Model;
using FunctionGemma.Protos;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace FunctionGemma.Evaluator.Tests;

/// <summary>
/// The pipeline for real: redis-server, the DataPrep service preparing the embedded Hermes sample, the Registry, a
/// random-init tiny Gemma 3 directory, and the Evaluator service on Kestrel (HTTP/2, loopback), reached through gRPC clients.
/// </summary>
public sealed class EvaluatorSystem : IAsyncLifetime
{
    private WebApplication? _dataPrep, _registry, _evaluator;
    private GrpcChannel? _evaluatorChannel;
    private readonly string _temp = Directory.CreateTempSubdirectory("fg-eval-e2e-").FullName;

    public RedisServer Redis { get; private set; } = null!;
    public Protos.Evaluator.EvaluatorClient Client { get; private set; } = null!;

    /// <summary>The prepared dataset version (the sample, seed 40, 100 of its rows as the eval split).</summary>
    public string DatasetVersion { get; private set; } = "";

    /// <summary>A random-init tiny model with FunctionGemma's tokenizer.</summary>
    public string ModelDir => Path.Combine(_temp, "tiny-model");

    /// <summary>Where the Evaluator keeps models pulled from the Registry.</summary>
    public string ModelCache => Path.Combine(_temp, "model-cache");

    /// <summary>The Trainer run root the Evaluator looks in (ROOT/RUN/checkpoint-N).</summary>
    public string TrainerRoot => Path.Combine(_temp, "runs");

    /// <summary>A checkpoint folder of <paramref name="runId"/> at <paramref name="step"/> holding the tiny model's files (linked).</summary>
    public string LinkCheckpoint(string runId, long step)
    {
        var dir = Path.Combine(TrainerRoot, runId, $"checkpoint-{step:D6}");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.EnumerateFiles(ModelDir))
            File.CreateSymbolicLink(Path.Combine(dir, Path.GetFileName(f)), f);
        File.WriteAllText(Path.Combine(dir, "optimizer.safetensors"), "not part of the model's identity");
        return dir;
    }

    /// <summary>A channel to the running Registry.</summary>
    public GrpcChannel RegistryChannel { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        var createModel = Task.Run(() => RandomInitModels.Create("tiny", 7, ModelDir));

        _dataPrep = DataPrepApp.Create(ServiceArgs());
        await _dataPrep.StartAsync();
        using (var channel = GrpcChannel.ForAddress(AddressOf(_dataPrep)))
        {
            var dataPrep = new Protos.DataPrep.DataPrepClient(channel);
            using var call = dataPrep.PrepareDataset(new DatasetSpec { Source = "sample", Seed = 40, Total = 0, Eval = 100 });
            await foreach (var e in call.ResponseStream.ReadAllAsync())
                if (e.EventCase == PrepareProgress.EventOneofCase.Done) DatasetVersion = e.Done.Ref.Version;
        }
        if (DatasetVersion.Length == 0) throw new InvalidOperationException("PrepareDataset ended without a version.");

        _registry = Registry.RegistryApp.Build([.. ServiceArgs(), $"--Registry:Root={Path.Combine(_temp, "registry")}"]);
        await _registry.StartAsync();
        RegistryChannel = GrpcChannel.ForAddress(AddressOf(_registry));

        _evaluator = EvaluatorApp.Build([.. ServiceArgs(),
            $"--Evaluator:ModelCache={ModelCache}",
            $"--Evaluator:TrainerRoot={TrainerRoot}",
            // Service discovery's configuration form: the "grpc" endpoint of the "registry" service.
            $"--Services:registry:grpc:0={AddressOf(_registry)}"]);
        await _evaluator.StartAsync();
        _evaluatorChannel = GrpcChannel.ForAddress(AddressOf(_evaluator));
        Client = new Protos.Evaluator.EvaluatorClient(_evaluatorChannel);
        await createModel;
    }

    /// <summary>A spec over the prepared dataset and the tiny model, small enough for CI.</summary>
    public EvalSpec Spec(int n = 6, int batchSize = 3, int maxNewTokens = 10) => new()
    {
        Model = new ModelRef { LocalPath = ModelDir },
        Dataset = new DatasetRef { Version = DatasetVersion },
        N = n,
        BatchSize = batchSize,
        MaxNewTokens = maxNewTokens,
        Lineage = new Lineage { ExperimentId = "e2e", Creator = "Evaluator.Tests" },
    };

    /// <summary>Runs Evaluate to the end: the progress events and the report.</summary>
    public async Task<(List<Progress> Progress, EvalReport Report)> EvaluateAsync(EvalSpec spec)
    {
        var progress = new List<Progress>();
        EvalReport? report = null;
        using var call = Client.Evaluate(spec, deadline: DateTime.UtcNow.AddMinutes(2));
        await foreach (var e in call.ResponseStream.ReadAllAsync())
        {
            if (e.EventCase == EvalProgress.EventOneofCase.Progress) progress.Add(e.Progress);
            else report = e.Done;
        }
        return (progress, report ?? throw new InvalidOperationException("Evaluate ended without a report."));
    }

    private string[] ServiceArgs() =>
    [
        $"--ConnectionStrings:redis={Redis.ConnectionString}",
        // Both named endpoints on free loopback ports, HTTP/2 only, so either address serves gRPC.
        "--Kestrel:Endpoints:http:Url=http://127.0.0.1:0", "--Kestrel:Endpoints:http:Protocols=Http2",
        "--Kestrel:Endpoints:grpc:Url=http://127.0.0.1:0", "--Kestrel:Endpoints:grpc:Protocols=Http2",
        "--Logging:LogLevel:Default=Warning",
    ];

    private static string AddressOf(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    public async ValueTask DisposeAsync()
    {
        _evaluatorChannel?.Dispose();
        if (_evaluator is not null) await _evaluator.DisposeAsync();
        RegistryChannel?.Dispose();
        if (_registry is not null) await _registry.DisposeAsync();
        if (_dataPrep is not null) await _dataPrep.DisposeAsync();
        if (Redis is not null) await Redis.DisposeAsync();
        try { Directory.Delete(_temp, recursive: true); } catch (IOException) { }
    }
}

/// <summary>One running system for every end-to-end test class.</summary>
[CollectionDefinition(nameof(EvaluatorSystem))]
public sealed class EvaluatorSystemCollection : ICollectionFixture<EvaluatorSystem>;
