using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace FunctionGemma.Trainer;

/// <summary>gRPC surface of the Trainer: runs are validated against DataPrep, then recorded in Redis.</summary>
public sealed class TrainerService(JsonRecordStore<RunInfo> runs, Protos.DataPrep.DataPrepClient dataPrep) : Protos.Trainer.TrainerBase
{
    internal static readonly ActivitySource Source = new("FunctionGemma.Trainer");

    public override async Task<RunInfo> StartRun(TrainSpec request, ServerCallContext context)
    {
        using var activity = Source.StartActivity("StartRun");
        var ct = context.CancellationToken;
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
        var now = DateTimeOffset.UtcNow;
        var run = new RunInfo
        {
            RunId = runId,
            State = JobState.Queued,
            Spec = request,
            Created = Timestamp.FromDateTimeOffset(now),
            Updated = Timestamp.FromDateTimeOffset(now),
        };
        // StartRun is idempotent: the same run id returns the run already recorded.
        return await runs.TryCreateAsync(runId, run, now, ct) ? run : await runs.GetAsync(runId, ct);
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
