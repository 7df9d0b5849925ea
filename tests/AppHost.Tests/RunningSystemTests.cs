using System.Diagnostics;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;

namespace FunctionGemma.AppHost.Tests;

public sealed class RunningSystemTests(RunningSystem system)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_service_reports_serving_over_grpc_health()
    {
        foreach (var name in RunningSystem.Services)
        {
            var reply = await new Health.HealthClient(system.Channel(name)).CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
        }
    }

    [Theory]
    [InlineData("dataprep", "functiongemma.v1.DataPrep")]
    [InlineData("trainer", "functiongemma.v1.Trainer")]
    [InlineData("evaluator", "functiongemma.v1.Evaluator")]
    [InlineData("registry", "functiongemma.v1.Registry")]
    public async Task Every_service_lists_its_contract_through_reflection(string service, string grpcService)
    {
        using var call = new ServerReflection.ServerReflectionClient(system.Channel(service)).ServerReflectionInfo(cancellationToken: Ct);
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" }, Ct);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(Ct));
        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains(grpcService, names);
        Assert.Contains("grpc.health.v1.Health", names);
    }

    [Fact]
    public async Task Redis_round_trips_a_value()
    {
        var db = system.Redis.GetDatabase();
        await db.StringSetAsync("fg:test:roundtrip", "héllo");
        Assert.Equal("héllo", (string?)await db.StringGetAsync("fg:test:roundtrip"));
    }

    [Fact]
    public async Task Each_service_answers_its_first_rpc()
    {
        var version = await SeedDatasetAsync();
        var dataprep = new DataPrep.DataPrepClient(system.Channel("dataprep"));
        var manifest = await dataprep.GetDatasetAsync(new DatasetRef { Version = version }, cancellationToken: Ct);
        Assert.Equal(2700, manifest.TrainRows);
        Assert.Contains((await dataprep.ListDatasetsAsync(new ListDatasetsRequest(), cancellationToken: Ct)).Datasets, d => d.Ref.Version == version);

        var registry = new Protos.Registry.RegistryClient(system.Channel("registry"));
        Assert.NotNull(await registry.ListModelsAsync(new ListModelsRequest(), cancellationToken: Ct));

        var evaluator = new Evaluator.EvaluatorClient(system.Channel("evaluator"));
        var missing = await Assert.ThrowsAsync<RpcException>(() =>
            evaluator.GetReportAsync(new ReportRequest { ReportId = "no-such-report" }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Contains("no-such-report", missing.Status.Detail);

        var trainer = new Trainer.TrainerClient(system.Channel("trainer"));
        var run = await trainer.StartRunAsync(Spec(version, "first-rpc-run"), cancellationToken: Ct);
        Assert.Equal(JobState.Queued, run.State);
        Assert.Equal(run.RunId, (await trainer.GetRunAsync(new RunRequest { RunId = "first-rpc-run" }, cancellationToken: Ct)).RunId);
    }

    [Fact]
    public async Task A_run_on_an_unknown_dataset_is_refused_with_the_version_named()
    {
        var trainer = new Trainer.TrainerClient(system.Channel("trainer"));
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            trainer.StartRunAsync(Spec("feedface", "bad-run"), cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("feedface", e.Status.Detail);
    }

    [Fact]
    public async Task One_trace_covers_trainer_dataprep_and_redis()
    {
        var version = await SeedDatasetAsync();
        var traceId = ActivityTraceId.CreateRandom();
        var traceparent = $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01";
        var trainer = new Trainer.TrainerClient(system.Channel("trainer"));
        await trainer.StartRunAsync(Spec(version, "traced-run"), new Metadata { { "traceparent", traceparent } }, cancellationToken: Ct);

        // Spans arrive in batches (and Redis command spans after a profiling flush): poll for a bounded time.
        var deadline = DateTime.UtcNow.AddSeconds(45);
        IReadOnlyList<CollectedSpan> trace = [];
        while (DateTime.UtcNow < deadline)
        {
            trace = system.Collector.Spans.Where(s => s.TraceId == traceId.ToHexString()).ToList();
            if (HasAll(trace)) break;
            await Task.Delay(500, Ct);
        }
        Assert.True(HasAll(trace), "spans in the trace: " + string.Join(", ", trace.Select(s => $"{s.Service}/{s.Scope}/{s.Name}")));
    }

    private static bool HasAll(IReadOnlyList<CollectedSpan> trace) =>
        trace.Any(s => s.Service == "trainer" && s.Name == "StartRun")
        && trace.Any(s => s.Service == "dataprep" && s.Name == "GetDataset")
        && trace.Any(s => s.Attributes.TryGetValue("db.system", out var db) && db == "redis"
                          || s.Attributes.TryGetValue("db.system.name", out var db2) && db2 == "redis");

    private static TrainSpec Spec(string version, string runId) => new()
    {
        Dataset = new DatasetRef { Version = version },
        BaseModel = new ModelRef { LocalPath = "/models/functiongemma-270m-it" },
        RunId = runId,
    };

    /// <summary>A complete dataset manifest as DataPrep writes it, so this test needs no dataset preparation.</summary>
    private async Task<string> SeedDatasetAsync()
    {
        var version = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        var manifest = new DatasetManifest
        {
            Ref = new DatasetRef { Version = version },
            Spec = new DatasetSpec { Source = "sample", Seed = 40, Total = 3000, Eval = 300, Rules = "reference" },
            TrainRows = 2700,
            EvalRows = 300,
            Created = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        };
        var db = system.Redis.GetDatabase();
        await db.HashSetAsync(RedisKeys.DatasetManifest(version), DatasetCatalog.ManifestField, ProtoJson.Write(manifest));
        await db.SortedSetAddAsync(RedisKeys.DatasetIndex, version, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return version;
    }
}
