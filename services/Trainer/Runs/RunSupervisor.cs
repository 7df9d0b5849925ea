using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using FunctionGemma.Trainer.Training;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FunctionGemma.Trainer.Runs;

/// <summary>Settings of the Trainer (configuration section "Trainer").</summary>
public sealed class TrainerOptions
{
    /// <summary>Where runs keep checkpoints and worker logs; default the repository's .fg/runs.</summary>
    public string Root { get; set; } = "";

    /// <summary>How to start a worker, e.g. "dotnet /app/Trainer.dll"; default this executable.</summary>
    public string WorkerCommand { get; set; } = "";

    /// <summary>Redis connection string handed to workers; default ConnectionStrings:redis.</summary>
    public string Redis { get; set; } = "";

    /// <summary>Where Registry base models are pulled to; default the repository's .fg/trainer/models.</summary>
    public string ModelCache { get; set; } = "";

    /// <summary>The checkpoint root in use.</summary>
    public string RootOrDefault() => string.IsNullOrEmpty(Root) ? Path.Combine(Core.RepoPaths.Root(), ".fg", "runs") : Root;

    /// <summary>The model cache in use.</summary>
    public string ModelCacheRoot() => string.IsNullOrEmpty(ModelCache) ? Path.Combine(Core.RepoPaths.Root(), ".fg", "trainer", "models") : ModelCache;

    /// <summary>How often the supervisor polls workers and events.</summary>
    public TimeSpan Poll { get; set; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>Turns a <see cref="ModelRef"/> into a local Hugging Face directory.</summary>
public interface IModelResolver
{
    /// <summary>The directory of <paramref name="model"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The model is not there.</exception>
    Task<string> ResolveAsync(ModelRef model, CancellationToken ct);
}

/// <summary>
/// Runs training runs one at a time: resolves the model and devices, starts one worker process per device, follows
/// the run's event stream into the run record and telemetry, and ends the run as SUCCEEDED when every worker exits 0,
/// FAILED as soon as one exits otherwise (the others are killed, so nothing waits on a dead peer), or CANCELLED.
/// </summary>
public sealed class RunSupervisor(IConnectionMultiplexer redis, IOptions<TrainerOptions> options, IModelResolver models,
    ILogger<RunSupervisor> logger) : Microsoft.Extensions.Hosting.BackgroundService
{
    readonly JsonRecordStore<RunInfo> _runs = RecordStores.Runs(redis);
    readonly Channel<string> _queue = Channel.CreateUnbounded<string>();
    readonly ConcurrentDictionary<string, ActiveRun> _active = new();
    readonly TrainerOptions _options = options.Value;

    sealed class ActiveRun
    {
        public readonly CancellationTokenSource Cancel = new();
        public volatile Process[] Workers = [];
    }

    /// <summary>The checkpoint root in use.</summary>
    public string Root => _options.RootOrDefault();

    /// <summary>
    /// Records a new run as QUEUED (or, with <c>resume</c>, re-queues an ended one) and queues it. An active run with the
    /// same id is returned as it is.
    /// </summary>
    /// <exception cref="ArgumentException">The spec is invalid.</exception>
    /// <exception cref="KeyNotFoundException">resume names no run.</exception>
    public async Task<RunInfo> SubmitAsync(string runId, TrainSpec spec, CancellationToken ct)
    {
        TrainingSettings.From(spec); // invalid specs fail at the door
        ParseDevices(spec.Devices);
        var now = DateTimeOffset.UtcNow;
        var existing = await _runs.FindAsync(runId, ct);
        if (existing is not null && !RunStates.IsTerminal(existing.State)) return existing;
        if (existing is null && spec.Resume)
            throw new KeyNotFoundException($"Run '{runId}' does not exist, so it cannot be resumed; StartRun without resume starts it.");
        if (existing is not null && !spec.Resume) return existing; // idempotent: the ended run stands
        var run = existing ?? new RunInfo { RunId = runId, Created = Timestamp.FromDateTimeOffset(now) };
        run.Spec = spec;
        run.State = JobState.Queued;
        run.Error = "";
        run.Updated = Timestamp.FromDateTimeOffset(now);
        await _runs.PutAsync(runId, run, run.Created.ToDateTimeOffset(), ct);
        await new RunEventLog(redis, runId).PublishAsync(new TrainEvent { State = run.Clone() }, ct);
        await _queue.Writer.WriteAsync(runId, ct);
        return run;
    }

    /// <summary>Cancels a queued or running run; an ended run is returned unchanged.</summary>
    public async Task<RunInfo> CancelAsync(string runId, CancellationToken ct)
    {
        var run = await _runs.GetAsync(runId, ct);
        if (RunStates.IsTerminal(run.State)) return run;
        if (_active.TryGetValue(runId, out var active))
        {
            active.Cancel.Cancel();
            // The run loop records CANCELLED once the workers are gone.
            for (int i = 0; i < 200 && !RunStates.IsTerminal((await _runs.GetAsync(runId, ct)).State); i++) await Task.Delay(50, ct);
            return await _runs.GetAsync(runId, ct);
        }
        return await EndAsync(run, JobState.Cancelled, "cancelled before it started", null, ct);
    }

    /// <summary>Process ids of a run's workers (empty when none are running), for operators and tests.</summary>
    public IReadOnlyList<int> WorkerProcessIds(string runId) =>
        _active.TryGetValue(runId, out var a) ? a.Workers.Where(p => !p.HasExited).Select(p => p.Id).ToArray() : [];

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await RecoverAsync(stoppingToken);
        await foreach (var runId in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            try { await ExecuteRunAsync(runId, stoppingToken); }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception e) { logger.LogError(e, "Run {RunId} could not be supervised", runId); }
        }
    }

    // A run that was RUNNING when the previous Trainer process died has no workers any more.
    async Task RecoverAsync(CancellationToken ct)
    {
        foreach (var run in await _runs.ListAsync(0, ct))
        {
            if (run.State == JobState.Running)
                await EndAsync(run, JobState.Failed, "The Trainer restarted while this run was in progress; StartRun with resume=true continues from its latest checkpoint.", null, ct);
            else if (run.State == JobState.Queued)
                await _queue.Writer.WriteAsync(run.RunId, ct);
        }
    }

    /// <summary>Executes one queued run to its end (the background loop calls this; the CLI calls it directly).</summary>
    public async Task<RunInfo> ExecuteRunAsync(string runId, CancellationToken ct)
    {
        var run = await _runs.GetAsync(runId, ct);
        if (run.State != JobState.Queued) return run;
        var active = _active[runId] = new ActiveRun();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, active.Cancel.Token);
        var events = new RunEventLog(redis, runId);
        var parent = await DatasetTraceAsync(run.Spec, ct);
        using var activity = TrainerTelemetry.Source.StartActivity("train run", ActivityKind.Internal, parent);
        activity?.SetTag("fg.run.id", runId);
        activity?.SetTag("fg.dataset.version", run.Spec.Dataset?.Version);
        try
        {
            var settings = TrainingSettings.From(run.Spec);
            var devices = ParseDevices(run.Spec.Devices);
            var modelDir = await models.ResolveAsync(run.Spec.BaseModel, ct);
            var manifest = await new DatasetCatalog(redis).GetAsync(run.Spec.Dataset?.Version ?? "", ct);
            run.WorldSize = devices.Count;
            run.TotalSteps = settings.TotalSteps(manifest.TrainRows, devices.Count);
            run.State = JobState.Running;
            run.Traceparent = activity?.Id ?? "";
            run.Updated = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
            await _runs.PutAsync(runId, run, run.Created.ToDateTimeOffset(), ct);
            await events.PublishAsync(new TrainEvent { State = run.Clone() }, ct);
            logger.LogInformation("Run {RunId}: {World} worker(s) on {Devices}, {Steps} steps, model {ModelDir}", runId, devices.Count, string.Join(",", devices), run.TotalSteps, modelDir);

            var (state, error) = await SuperviseAsync(run, devices, modelDir, active, events, activity, linked.Token, ct);
            run = await _runs.GetAsync(runId, ct);
            return await EndAsync(run, state, error, activity, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "Run {RunId} failed before its workers ran", runId);
            return await EndAsync(await _runs.GetAsync(runId, CancellationToken.None), JobState.Failed, e.Message, activity, CancellationToken.None);
        }
        finally
        {
            _active.TryRemove(runId, out _);
        }
    }

    async Task<(JobState State, string Error)> SuperviseAsync(RunInfo run, IReadOnlyList<string> devices, string modelDir,
        ActiveRun active, RunEventLog events, Activity? activity, CancellationToken cancel, CancellationToken ct)
    {
        var launch = Guid.NewGuid().ToString("N")[..12];
        var logDir = Checkpoints.RunDirectory(Root, run.RunId);
        if (!run.Spec.Resume && Directory.Exists(logDir))
        {
            // A run that starts from scratch owns its folder: what is there belongs to a run of the same id recorded in
            // another Redis (a wiped or different store). It is kept aside, never resumed from by mistake.
            var aside = $"{logDir}.orphaned-{DateTime.UtcNow:yyyyMMddHHmmss}";
            Directory.Move(logDir, aside);
            logger.LogWarning("Run {RunId}: moved an older folder of the same run id to {Aside}", run.RunId, aside);
        }
        Directory.CreateDirectory(logDir);
        var workers = new WorkerProcess[devices.Count];
        try
        {
            for (int rank = 0; rank < devices.Count; rank++)
                workers[rank] = WorkerProcess.Start(WorkerCommand(), WorkerArguments(run, rank, devices.Count, devices[rank], modelDir, launch),
                    devices[rank], Path.Combine(logDir, $"worker-{rank}.log"));
            active.Workers = workers.Select(w => w.Process).ToArray();
            RedisValue last = "0-0";
            while (true)
            {
                last = await FollowEventsAsync(run.RunId, events, last, activity, ct);
                var failed = workers.FirstOrDefault(w => w.Process.HasExited && w.Process.ExitCode != 0);
                if (failed is not null)
                {
                    // No rank waits on a dead peer: the survivors are stopped at once.
                    foreach (var w in workers) w.Kill();
                    await FollowEventsAsync(run.RunId, events, last, activity, ct);
                    return (JobState.Failed, $"Worker rank {failed.Rank} ({failed.Device}) exited with code {failed.Process.ExitCode}: {failed.Tail()} Log: {failed.LogPath}. StartRun with resume=true continues from the latest checkpoint.");
                }
                if (workers.All(w => w.Process.HasExited))
                {
                    await Task.WhenAll(workers.Select(w => w.Drained));
                    await FollowEventsAsync(run.RunId, events, last, activity, ct);
                    return (JobState.Succeeded, "");
                }
                if (cancel.IsCancellationRequested)
                {
                    foreach (var w in workers) w.Kill();
                    if (ct.IsCancellationRequested) ct.ThrowIfCancellationRequested();
                    return (JobState.Cancelled, "cancelled by CancelRun");
                }
                try { await Task.Delay(_options.Poll, cancel); } catch (OperationCanceledException) { }
            }
        }
        finally
        {
            foreach (var w in workers) w?.Kill();
            active.Workers = [];
        }
    }

    async Task<RedisValue> FollowEventsAsync(string runId, RunEventLog events, RedisValue after, Activity? activity, CancellationToken ct)
    {
        while (true)
        {
            var batch = await events.ReadAfterAsync(after);
            if (batch.Count == 0) return after;
            var run = await _runs.GetAsync(runId, ct);
            foreach (var (id, e) in batch)
            {
                after = id;
                TrainerTelemetry.Record(e, activity);
                switch (e.EventCase)
                {
                    case TrainEvent.EventOneofCase.Metrics: run.Step = Math.Max(run.Step, e.Metrics.Step); break;
                    case TrainEvent.EventOneofCase.Eval: run.Step = Math.Max(run.Step, e.Eval.Step); break;
                    case TrainEvent.EventOneofCase.Checkpoint:
                        run.Step = Math.Max(run.Step, e.Checkpoint.Step);
                        run.LatestCheckpoint = new CheckpointRef { RunId = runId, Step = e.Checkpoint.Step };
                        run.LatestCheckpointPath = e.Checkpoint.Path;
                        break;
                }
            }
            run.Updated = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
            await _runs.PutAsync(runId, run, run.Created.ToDateTimeOffset(), ct);
        }
    }

    async Task<RunInfo> EndAsync(RunInfo run, JobState state, string error, Activity? activity, CancellationToken ct)
    {
        run.State = state;
        run.Error = error;
        run.Updated = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        await _runs.PutAsync(run.RunId, run, run.Created.ToDateTimeOffset(), ct);
        await new RunEventLog(redis, run.RunId).PublishAsync(new TrainEvent { State = run.Clone() }, ct);
        activity?.SetTag("fg.run.state", state.ToString());
        if (state == JobState.Failed) activity?.SetStatus(ActivityStatusCode.Error, error);
        TrainerTelemetry.Ended(run);
        logger.LogInformation("Run {RunId} ended {State} at step {Step} {Error}", run.RunId, state, run.Step, error);
        return run;
    }

    // The run span continues the trace of the prepare that wrote the dataset version (its stored traceparent).
    async Task<ActivityContext> DatasetTraceAsync(TrainSpec spec, CancellationToken ct)
    {
        try
        {
            var manifest = await new DatasetCatalog(redis).FindAsync(spec.Dataset.Version, ct);
            var tp = manifest?.Lineage?.Traceparent;
            if (string.IsNullOrEmpty(tp)) tp = await new DatasetRows(redis).TraceparentAsync(spec.Dataset.Version, Split.Train, 0, ct);
            return !string.IsNullOrEmpty(tp) && ActivityContext.TryParse(tp, null, out var ctx) ? ctx : default;
        }
        catch (RedisException) { return default; }
    }

    (string File, string[] Prefix) WorkerCommand()
    {
        if (!string.IsNullOrWhiteSpace(_options.WorkerCommand))
        {
            var parts = _options.WorkerCommand.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return (parts[0], parts[1..]);
        }
        // The Trainer's own executable beside its assembly (also when a test host loaded it), else the assembly through dotnet.
        var trainerDll = typeof(RunSupervisor).Assembly.Location;
        var appHost = Path.Combine(Path.GetDirectoryName(trainerDll)!, OperatingSystem.IsWindows() ? "Trainer.exe" : "Trainer");
        return File.Exists(appHost) ? (appHost, []) : ("dotnet", [trainerDll]);
    }

    string[] WorkerArguments(RunInfo run, int rank, int world, string device, string modelDir, string launch)
    {
        var redisConn = string.IsNullOrEmpty(_options.Redis) ? redis.Configuration : _options.Redis;
        var args = new List<string>
        {
            "worker", "--run-id", run.RunId, "--rank", rank.ToString(), "--world-size", world.ToString(),
            "--device", device == "cpu" ? "cpu" : "cuda", "--model-dir", modelDir, "--root", Root, "--launch", launch,
            "--redis", redisConn, "--watch-stdin",
        };
        if (run.Spec.Resume) args.Add("--resume");
        return args.ToArray();
    }

    /// <summary>
    /// Devices of a spec: "cpu" (or empty on a machine without NVIDIA GPUs) → ["cpu"]; "cuda" → every GPU;
    /// "cuda:0,1" → those GPUs. Each GPU device is "cuda:N".
    /// </summary>
    /// <exception cref="ArgumentException">The text is not one of those forms.</exception>
    public static IReadOnlyList<string> ParseDevices(string? devices)
    {
        devices = (devices ?? "").Trim();
        if (devices == "") devices = CountGpus() > 0 ? "cuda" : "cpu";
        if (devices == "cpu") return ["cpu"];
        if (devices == "cuda")
        {
            int n = CountGpus();
            if (n == 0) throw new ArgumentException("TrainSpec.devices is \"cuda\" but this machine has no NVIDIA GPU; use \"cpu\".");
            return Enumerable.Range(0, n).Select(i => $"cuda:{i}").ToArray();
        }
        if (devices.StartsWith("cuda:", StringComparison.Ordinal))
        {
            var ids = devices[5..].Split(',', StringSplitOptions.TrimEntries);
            if (ids.All(x => int.TryParse(x, out var i) && i >= 0) && ids.Distinct().Count() == ids.Length)
                return ids.Select(x => $"cuda:{int.Parse(x)}").ToArray();
        }
        throw new ArgumentException($"TrainSpec.devices '{devices}' is not understood: use \"cpu\", \"cuda\" or \"cuda:0,1\".");
    }

    static int CountGpus()
    {
        var visible = Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES");
        if (visible is not null) return visible.Split(',', StringSplitOptions.RemoveEmptyEntries).Length;
        const string proc = "/proc/driver/nvidia/gpus";
        return Directory.Exists(proc) ? Directory.GetDirectories(proc).Length : 0;
    }
}

/// <summary>One worker process: started with its GPU made the only visible one, output teed into its log with a tail kept for errors.</summary>
sealed class WorkerProcess
{
    readonly Queue<string> _tail = new();
    readonly StreamWriter _log;

    public required Process Process { get; init; }
    public required int Rank { get; init; }
    public required string Device { get; init; }
    public required string LogPath { get; init; }
    public Task Drained { get; private set; } = Task.CompletedTask;

    WorkerProcess(StreamWriter log) => _log = log;

    public static WorkerProcess Start((string File, string[] Prefix) command, string[] args, string device, string logPath)
    {
        var psi = new ProcessStartInfo(command.File)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in command.Prefix.Concat(args)) psi.ArgumentList.Add(a);
        if (device.StartsWith("cuda:", StringComparison.Ordinal)) psi.Environment["CUDA_VISIBLE_DEVICES"] = device[5..];
        // NVLink multicast stays off (shared multi-GPU hosts), also for children with their own environment.
        psi.Environment["NCCL_NVLS_ENABLE"] = "0";
        int rank = Array.IndexOf(args, "--rank") is var i and >= 0 ? int.Parse(args[i + 1]) : 0;
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start worker '{command.File}'.");
        var w = new WorkerProcess(log) { Process = p, Rank = rank, Device = device, LogPath = logPath };
        w.Drained = Task.WhenAll(w.Pump(p.StandardOutput), w.Pump(p.StandardError));
        return w;
    }

    async Task Pump(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
            lock (_tail)
            {
                _log.WriteLine(line);
                _tail.Enqueue(line);
                while (_tail.Count > 8) _tail.Dequeue();
            }
    }

    public string Tail()
    {
        Drained.Wait(TimeSpan.FromSeconds(2));
        lock (_tail) return string.Join(" | ", _tail.Where(l => l.Contains("failed", StringComparison.OrdinalIgnoreCase) || l.Contains("Exception", StringComparison.Ordinal)).DefaultIfEmpty(_tail.LastOrDefault() ?? "(no output)"));
    }

    /// <summary>Kills the worker and waits (up to 10 s) until it is gone, so an ended run has no process left.</summary>
    public void Kill()
    {
        try
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException) { }
    }
}
