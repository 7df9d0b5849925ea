using System.Security.Cryptography;
using System.Text;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using FunctionGemma.Trainer.Runs;
using Grpc.Core;
using StackExchange.Redis;

namespace FunctionGemma.Trainer;

/// <summary>gRPC surface of the Trainer: runs are validated against DataPrep, recorded in Redis and handed to the supervisor.</summary>
public sealed class TrainerService(JsonRecordStore<RunInfo> runs, Protos.DataPrep.DataPrepClient dataPrep, RunSupervisor supervisor,
    IConnectionMultiplexer redis) : Protos.Trainer.TrainerBase
{
    public override async Task<RunInfo> StartRun(TrainSpec request, ServerCallContext context)
    {
        using var activity = TrainerTelemetry.Source.StartActivity("StartRun");
        var ct = context.CancellationToken;
        if (request.Resume && !string.IsNullOrWhiteSpace(request.RunId) && await runs.FindAsync(request.RunId, ct) is { } previous
            && request.Dataset is null && request.BaseModel is null)
        {
            // `resume` with only a run id continues that run with its recorded spec.
            var spec = previous.Spec.Clone();
            spec.Resume = true;
            request = spec;
        }
        if (string.IsNullOrWhiteSpace(request.Dataset?.Version))
            throw new ArgumentException("TrainSpec.dataset.version is empty: prepare a dataset first and pass its version.");
        if (request.BaseModel is null || request.BaseModel.SourceCase == ModelRef.SourceOneofCase.None)
            throw new ArgumentException("TrainSpec.base_model is empty: name a local HF directory, a Registry version or alias.");

        // The dataset must exist before a run is accepted, so a typo fails now rather than on the GPU.
        try { await dataPrep.GetDatasetAsync(request.Dataset, cancellationToken: ct); }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            throw new InvalidOperationException($"TrainSpec.dataset: {e.Status.Detail}");
        }

        var runId = string.IsNullOrWhiteSpace(request.RunId) ? DeriveRunId(request) : request.RunId;
        activity?.SetTag("fg.run.id", runId);
        activity?.SetTag("fg.dataset.version", request.Dataset.Version);
        return await supervisor.SubmitAsync(runId, request, ct);
    }

    public override async Task WatchRun(RunRequest request, IServerStreamWriter<TrainEvent> responseStream, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.RunId)) throw new ArgumentException("RunRequest.run_id is empty.");
        var run = await runs.GetAsync(request.RunId, context.CancellationToken);
        // From the first event to the run's end; an ended run replays its events and the stream closes.
        await foreach (var e in new RunEventLog(redis, run.RunId).FollowAsync(TimeSpan.FromMilliseconds(200), context.CancellationToken))
            await responseStream.WriteAsync(e, context.CancellationToken);
    }

    public override Task<RunInfo> CancelRun(RunRequest request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.RunId)) throw new ArgumentException("RunRequest.run_id is empty.");
        return supervisor.CancelAsync(request.RunId, context.CancellationToken);
    }

    public override Task<RunInfo> GetRun(RunRequest request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.RunId)) throw new ArgumentException("RunRequest.run_id is empty.");
        return runs.GetAsync(request.RunId, context.CancellationToken);
    }

    private static string DeriveRunId(TrainSpec spec)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(ProtoJson.Write(spec)));
        return "run-" + Convert.ToHexStringLower(hash)[..16];
    }
}
