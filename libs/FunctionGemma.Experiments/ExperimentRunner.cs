using System.Diagnostics;
using FunctionGemma.Protos;
using FunctionGemma.Registry.Client;
using Grpc.Core;

namespace FunctionGemma.Experiments;

/// <summary>The stages of an experiment, in order.</summary>
public enum Stage
{
    /// <summary>DataPrep prepares (or finds) the dataset version.</summary>
    Dataset,
    /// <summary>The base model is resolved (or created and registered).</summary>
    BaseModel,
    /// <summary>The Evaluator scores the base model.</summary>
    Baseline,
    /// <summary>The Trainer fine-tunes.</summary>
    Train,
    /// <summary>The Evaluator scores the fine-tuned checkpoint.</summary>
    PostEval,
    /// <summary>The Registry stores the fine-tuned model with its lineage.</summary>
    Register,
    /// <summary>The Registry publishes to the Hugging Face Hub.</summary>
    Publish,
}

/// <summary>A progress line for one stage.</summary>
/// <param name="Stage">The stage.</param>
/// <param name="Status">started, done, or the service's own step name.</param>
/// <param name="Message">Human-readable detail.</param>
/// <param name="Done">Units done.</param>
/// <param name="Total">Units in all (0 = unknown).</param>
public sealed record StageUpdate(Stage Stage, string Status, string Message, long Done = 0, long Total = 0);

/// <summary>Creates a random-init base model directory (TorchSharp lives outside this library).</summary>
public interface IBaseModelFactory
{
    /// <summary>Writes an HF model directory for a named size ("tiny", "270m") initialized with <paramref name="seed"/>.</summary>
    Task CreateAsync(string size, ulong seed, string directory, CancellationToken ct);
}

/// <summary>What an experiment produced.</summary>
/// <param name="Record">The journal record.</param>
/// <param name="Baseline">The base model's report (null when disabled).</param>
/// <param name="Post">The fine-tuned model's report.</param>
/// <param name="Comparison">Post minus baseline.</param>
/// <param name="Model">The registered model version.</param>
public sealed record ExperimentOutcome(ExperimentRecord Record, EvalReport? Baseline, EvalReport Post, ReportComparison? Comparison, ModelVersion Model);

/// <summary>
/// Drives one experiment through the services: DataPrep → Evaluator (baseline) → Trainer → Evaluator (post) →
/// Registry (register, optional publish). Every stage is idempotent in its service (content-addressed dataset
/// versions, report ids and model versions, run ids derived from the experiment id, resume from the latest
/// checkpoint), so running the same spec again after a crash continues where it stopped and redoes nothing.
/// </summary>
public sealed class ExperimentRunner(ServiceClients services, ExperimentJournal journal, IBaseModelFactory? modelFactory, string workDirectory)
{
    /// <summary>The coordinator's spans: one root per experiment, one child per stage.</summary>
    public static readonly ActivitySource Source = new("FunctionGemma.Experiments");

    /// <summary>Runs (or resumes) the experiment of <paramref name="spec"/>.</summary>
    public async Task<ExperimentOutcome> RunAsync(ExperimentSpec spec, string specPath, IProgress<StageUpdate>? progress, CancellationToken ct)
    {
        var id = ExperimentSpecLoader.ExperimentId(spec);
        var record = journal.Find(id) ?? new ExperimentRecord { Id = id, Name = spec.Name, SpecPath = specPath };
        // A resumed experiment continues its first trace, so the dashboard shows one trace per experiment.
        var parent = record.TraceId is { } tp && ActivityContext.TryParse(tp, null, out var ctx) ? ctx : default;
        using var root = Source.StartActivity($"experiment {spec.Name}", ActivityKind.Internal, parent);
        root?.SetTag("fg.experiment.id", id);
        record.TraceId ??= root?.Id;
        record.State = "running";
        record.Error = null;
        journal.Save(record);

        try
        {
            var outcome = await RunStagesAsync(spec, record, progress, ct);
            record.State = "succeeded";
            journal.Save(record);
            return outcome with { Record = record };
        }
        catch (Exception e)
        {
            record.State = e is OperationCanceledException || e is RpcException { StatusCode: StatusCode.Cancelled } ? "interrupted" : "failed";
            record.Error = e is RpcException r ? $"{r.StatusCode}: {r.Status.Detail}" : e.Message;
            journal.Save(record);
            root?.SetStatus(ActivityStatusCode.Error, record.Error);
            throw;
        }
    }

    private async Task<ExperimentOutcome> RunStagesAsync(ExperimentSpec spec, ExperimentRecord record, IProgress<StageUpdate>? progress, CancellationToken ct)
    {
        var lineage = Lineage(record);

        var manifest = await StageAsync(Stage.Dataset, progress, () => PrepareDatasetAsync(spec, progress, ct));
        record.DatasetVersion = manifest.Ref.Version;
        journal.Save(record);

        var baseModel = await StageAsync(Stage.BaseModel, progress, () => ResolveBaseModelAsync(spec, lineage, ct));
        record.BaseModel = Describe(baseModel);
        journal.Save(record);

        EvalReport? baseline = null;
        if (spec.Evaluation.Baseline)
        {
            baseline = await StageAsync(Stage.Baseline, progress, () => EvaluateAsync(Stage.Baseline, spec, baseModel, manifest.Ref, lineage, progress, ct));
            record.BaselineReportId = baseline.ReportId;
            journal.Save(record);
        }

        var run = await StageAsync(Stage.Train, progress, () => TrainAsync(spec, record.Id, baseModel, manifest.Ref, lineage, progress, ct));
        record.RunId = run.RunId;
        journal.Save(record);

        var trained = new ModelRef { Checkpoint = new CheckpointRef { RunId = run.RunId } };
        var post = await StageAsync(Stage.PostEval, progress, () => EvaluateAsync(Stage.PostEval, spec, trained, manifest.Ref, lineage, progress, ct));
        record.PostReportId = post.ReportId;
        journal.Save(record);

        var model = await StageAsync(Stage.Register, progress, () => RegisterAsync(spec, run, baseModel, manifest.Ref, baseline, post, lineage, ct));
        record.ModelVersion = model.Version;
        journal.Save(record);

        if (spec.Publish is { } publish)
        {
            var published = await StageAsync(Stage.Publish, progress, async () => await services.Registry.PublishToHubAsync(new PublishRequest
            {
                Ref = model.Version, RepoId = publish.RepoId, Private = publish.Private, Revision = publish.Revision,
                CommitMessage = $"{spec.Name}: experiment {record.Id}",
            }, cancellationToken: ct));
            record.PublishedUrl = published.Url;
            journal.Save(record);
        }

        var comparison = baseline is null ? null : await services.Evaluator.CompareReportsAsync(
            new CompareRequest { BeforeReportId = baseline.ReportId, AfterReportId = post.ReportId }, cancellationToken: ct);
        return new ExperimentOutcome(record, baseline, post, comparison, model);
    }

    private static async Task<T> StageAsync<T>(Stage stage, IProgress<StageUpdate>? progress, Func<Task<T>> body)
    {
        using var activity = Source.StartActivity(stage.ToString());
        progress?.Report(new StageUpdate(stage, "started", ""));
        var result = await body();
        progress?.Report(new StageUpdate(stage, "done", ""));
        return result;
    }

    private async Task<DatasetManifest> PrepareDatasetAsync(ExperimentSpec spec, IProgress<StageUpdate>? progress, CancellationToken ct)
    {
        var d = spec.Dataset;
        using var call = services.DataPrep.PrepareDataset(new DatasetSpec
        {
            Source = d.Source, Seed = d.Seed, Total = d.Total, Eval = d.Eval, Rules = d.Rules,
        }, cancellationToken: ct);
        await foreach (var e in call.ResponseStream.ReadAllAsync(ct))
        {
            if (e.EventCase == PrepareProgress.EventOneofCase.Done) return e.Done;
            if (e.Progress is { } p) progress?.Report(new StageUpdate(Stage.Dataset, p.Stage, p.Message, p.Done, p.Total));
        }
        throw new InvalidOperationException("DataPrep ended PrepareDataset without a dataset version.");
    }

    private async Task<ModelRef> ResolveBaseModelAsync(ExperimentSpec spec, Lineage lineage, CancellationToken ct)
    {
        var m = spec.BaseModel;
        if (!string.IsNullOrWhiteSpace(m.Path)) return new ModelRef { LocalPath = Path.GetFullPath(m.Path) };
        if (!string.IsNullOrWhiteSpace(m.Registry))
        {
            var found = await services.Registry.GetModelAsync(new ModelQuery { Ref = m.Registry }, cancellationToken: ct);
            return new ModelRef { RegistryVersion = found.Version };
        }

        // A random-init base goes through the Registry like any model, so its lineage and bytes are pinned.
        if (modelFactory is null)
            throw new InvalidOperationException("base_model.init needs a model factory: run the experiment with the fg CLI.");
        var dir = Path.Combine(workDirectory, "init", $"{m.Init}-seed{m.InitSeed}");
        if (!File.Exists(Path.Combine(dir, "config.json")))
        {
            var tmp = dir + ".tmp";
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            await modelFactory.CreateAsync(m.Init!, m.InitSeed, tmp, ct);
            Directory.Move(tmp, dir);
        }
        var header = new RegisterHeader { Name = $"gemma3-{m.Init}-random", BaseModel = $"random-init:{m.Init}:seed{m.InitSeed}", Lineage = lineage };
        header.Aliases.Add($"seed{m.InitSeed}");
        var version = await services.Registry.UploadDirectoryAsync(header, dir, include: IsComplete, ct: ct);
        return new ModelRef { RegistryVersion = version.Version };
    }

    private async Task<EvalReport> EvaluateAsync(Stage stage, ExperimentSpec spec, ModelRef model, DatasetRef dataset, Lineage lineage,
        IProgress<StageUpdate>? progress, CancellationToken ct)
    {
        var e = spec.Evaluation;
        var evalSpec = new EvalSpec
        {
            Model = model, Dataset = dataset, Split = Split.Eval, N = e.N, MaxNewTokens = e.MaxNewTokens,
            BatchSize = e.BatchSize, Device = e.Device, Lineage = lineage,
        };
        evalSpec.StopTokenIds.Add([1, 106, 50]);
        using var call = services.Evaluator.Evaluate(evalSpec, cancellationToken: ct);
        await foreach (var p in call.ResponseStream.ReadAllAsync(ct))
        {
            if (p.EventCase == EvalProgress.EventOneofCase.Done) return p.Done;
            if (p.Progress is { } pr) progress?.Report(new StageUpdate(stage, pr.Stage, pr.Message, pr.Done, pr.Total));
        }
        throw new InvalidOperationException("The Evaluator ended Evaluate without a report.");
    }

    private async Task<RunInfo> TrainAsync(ExperimentSpec spec, string experimentId, ModelRef baseModel, DatasetRef dataset, Lineage lineage,
        IProgress<StageUpdate>? progress, CancellationToken ct)
    {
        var t = spec.Train;
        var runId = $"{experimentId}-train";
        RunInfo? existing = null;
        try { existing = await services.Trainer.GetRunAsync(new RunRequest { RunId = runId }, cancellationToken: ct); }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound) { }

        var started = existing;
        // A finished run stands; a live one is watched; a failed or cancelled one (a crash) resumes from its latest checkpoint.
        if (existing is null || existing.State is JobState.Failed or JobState.Cancelled)
        {
            var trainSpec = new TrainSpec
            {
                Dataset = dataset, BaseModel = baseModel, RunId = runId,
                Resume = existing is not null,
                MaxLength = t.MaxLength, Epochs = t.Epochs, PerDeviceBatch = t.PerDeviceBatch, GradAccumulation = t.GradAccumulation,
                LearningRate = t.LearningRate, LrSchedule = t.LrSchedule, WarmupRatio = t.WarmupRatio, WeightDecay = t.WeightDecay,
                MaxGradNorm = t.MaxGradNorm, LogEvery = t.LogEvery, EvalEvery = t.EvalEvery, CheckpointEvery = t.CheckpointEvery,
                GradientCheckpointing = t.GradientCheckpointing, Precision = t.Precision, LossOn = t.LossOn, Seed = t.Seed,
                Devices = t.Devices, MaxSteps = t.MaxSteps, Lineage = lineage,
            };
            if (t.CudaGraphs is { } graphs) trainSpec.CudaGraphs = graphs;
            started = await services.Trainer.StartRunAsync(trainSpec, cancellationToken: ct);
        }
        started ??= existing!;

        if (!IsTerminal(started.State))
        {
            using var watch = services.Trainer.WatchRun(new RunRequest { RunId = runId }, cancellationToken: ct);
            await foreach (var e in watch.ResponseStream.ReadAllAsync(ct))
            {
                if (e.Metrics is { } m)
                    progress?.Report(new StageUpdate(Stage.Train, "step",
                        $"loss {m.Loss:F4}  acc {m.TokenAccuracy:F3}  lr {m.LearningRate:E2}  {m.TokensPerSecond:F0} tok/s", m.Step, started.TotalSteps));
                else if (e.Eval is { } ev)
                    progress?.Report(new StageUpdate(Stage.Train, "eval", $"eval loss {ev.Loss:F4}  acc {ev.TokenAccuracy:F3}", ev.Step, started.TotalSteps));
                else if (e.Checkpoint is { } c)
                    progress?.Report(new StageUpdate(Stage.Train, "checkpoint", c.Path, c.Step, started.TotalSteps));
                else if (e.State is { } s && IsTerminal(s.State)) break;
            }
        }

        var run = await services.Trainer.GetRunAsync(new RunRequest { RunId = runId }, cancellationToken: ct);
        if (run.State != JobState.Succeeded)
            throw new InvalidOperationException($"Training run {runId} ended {run.State}: {run.Error}. Run the experiment again to resume it.");
        return run;
    }

    private async Task<ModelVersion> RegisterAsync(ExperimentSpec spec, RunInfo run, ModelRef baseModel, DatasetRef dataset,
        EvalReport? baseline, EvalReport post, Lineage lineage, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(run.LatestCheckpointPath))
            throw new InvalidOperationException($"Run {run.RunId} succeeded but names no checkpoint directory.");
        var header = new RegisterHeader
        {
            Name = spec.Register.Name ?? spec.Name,
            BaseModel = Describe(baseModel),
            Dataset = dataset,
            TrainSpecJson = Storage.ProtoJson.Write(run.Spec),
            Lineage = lineage,
        };
        if (baseline is not null) header.EvalReportIds.Add(baseline.ReportId);
        header.EvalReportIds.Add(post.ReportId);
        header.Aliases.Add(spec.Register.Aliases);
        foreach (var (k, v) in Metrics(post.Overall)) header.Metrics[k] = v;
        // Only the model itself is registered, not the optimizer/RNG state that checkpoints carry for resuming.
        return await services.Registry.UploadDirectoryAsync(header, run.LatestCheckpointPath, include: IsModelFile, ct: ct);
    }

    private static bool IsComplete(string relativePath) => !relativePath.EndsWith(".tmp", StringComparison.Ordinal);

    /// <summary>Files of an HF model directory; training state (optimizer, RNG, data cursor) stays with the run.</summary>
    public static bool IsModelFile(string relativePath) =>
        IsComplete(relativePath)
        && !relativePath.Contains('/')
        && !relativePath.StartsWith("optimizer", StringComparison.Ordinal)
        && !relativePath.StartsWith("rng", StringComparison.Ordinal)
        && !relativePath.StartsWith("scheduler", StringComparison.Ordinal)
        && !relativePath.StartsWith("trainer_state", StringComparison.Ordinal)
        && !relativePath.StartsWith("training_state", StringComparison.Ordinal)
        && !relativePath.StartsWith("data_cursor", StringComparison.Ordinal);

    private static IEnumerable<(string, double)> Metrics(EvalMetricsSummary? m) => m is null ? [] :
    [
        ("tool_accuracy", m.ToolAccuracy), ("tc_cer", m.TcCer), ("exact_match", m.ExactMatch),
        ("argument_f1", m.ArgumentF1), ("json_valid_rate", m.JsonValidRate), ("schema_valid_rate", m.SchemaValidRate),
    ];

    private static bool IsTerminal(JobState s) => s is JobState.Succeeded or JobState.Failed or JobState.Cancelled;

    private static Lineage Lineage(ExperimentRecord record) => new()
    {
        ExperimentId = record.Id,
        // The experiment's first root span, not the current one: lineage (and so the Registry's content-addressed
        // version) must not change when a re-run resumes the experiment.
        Traceparent = record.TraceId ?? Activity.Current?.Id ?? "",
        CodeVersion = typeof(ExperimentRunner).Assembly.GetName().Version?.ToString() ?? "",
        Creator = Environment.UserName,
    };

    /// <summary>A model reference as one line, for records and lineage.</summary>
    public static string Describe(ModelRef m) => m.SourceCase switch
    {
        ModelRef.SourceOneofCase.LocalPath => "path:" + m.LocalPath,
        ModelRef.SourceOneofCase.RegistryVersion => "registry:" + m.RegistryVersion,
        ModelRef.SourceOneofCase.RegistryAlias => "registry:" + m.RegistryAlias,
        ModelRef.SourceOneofCase.Checkpoint => $"checkpoint:{m.Checkpoint.RunId}@{m.Checkpoint.Step}",
        _ => "",
    };
}
