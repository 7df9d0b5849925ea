using System.Diagnostics;
using FunctionGemma.Model;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using FunctionGemma.Trainer.Runs;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static TorchSharp.torch;

namespace FunctionGemma.Trainer.Tests;

/// <summary>
/// The whole CPU path: a real redis-server, the sample dataset written through the Storage writer, a tiny random
/// Gemma 3 with the real tokenizer, worker processes started by the supervisor.
/// </summary>
public sealed class ResumeIntegrationTests
{
    static TrainSpec Spec(string modelDir) => new()
    {
        Dataset = new DatasetRef { Version = SampleDataset.Version },
        BaseModel = new ModelRef { LocalPath = modelDir },
        MaxSteps = 20,
        PerDeviceBatch = 1,
        GradAccumulation = 2,
        MaxLength = 192,
        LearningRate = 2e-3,
        WarmupRatio = 0.05,
        LogEvery = 1,
        EvalEvery = 10,
        CheckpointEvery = 5,
        MaxEvalRows = 4,
        Devices = "cpu",
        Precision = "fp32",
        Seed = 3,
    };

    [Fact]
    public async Task Loss_decreases_and_a_run_killed_at_step_7_resumes_to_bitwise_equal_weights()
    {
        var ct = TestContext.Current.CancellationToken;
        var spans = new System.Collections.Concurrent.ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == TrainerTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        await using var redis = await RedisServer.StartAsync();
        await SampleDataset.SeedAsync(redis.Connection);
        var work = Directory.CreateTempSubdirectory("fg-trainer-test-").FullName;
        try
        {
            var (supervisor, modelDir) = await StartSupervisorAsync(redis, work, ct);
            try
            {
                // Uninterrupted.
                await supervisor.SubmitAsync("straight", Spec(modelDir), ct);
                var straight = await WaitForEndAsync(redis, "straight", ct);
                Assert.True(straight.State == JobState.Succeeded, straight.Error);
                var losses = await MetricsAsync(redis, "straight");

                // The run's span continues the dataset version's trace; evals and checkpoints are its children.
                var runSpan = Assert.Single(spans, a => a.DisplayName == "train run" && (string?)a.GetTagItem("fg.run.id") == "straight");
                Assert.Equal(SampleDataset.TraceId, runSpan.TraceId.ToHexString());
                Assert.Equal(straight.Traceparent, runSpan.Id);
                Assert.Equal(4, spans.Count(a => a.DisplayName == "checkpoint" && a.ParentSpanId == runSpan.SpanId));
                Assert.Equal(2, spans.Count(a => a.DisplayName == "eval" && a.ParentSpanId == runSpan.SpanId));
                Assert.Equal(20, losses.Count);
                Assert.True(losses.TakeLast(5).Average() < losses.Take(5).Average() - 0.5,
                    $"loss did not decrease: {string.Join(", ", losses.Select(l => l.ToString("0.000")))}");

                // Killed after step 7, then resumed.
                await supervisor.SubmitAsync("killed", Spec(modelDir), ct);
                var sw = Stopwatch.StartNew();
                while ((await MetricsAsync(redis, "killed")).Count < 7)
                {
                    Assert.True(sw.Elapsed < TimeSpan.FromMinutes(2), "run 'killed' never reached step 7");
                    await Task.Delay(20, ct);
                }
                foreach (var pid in supervisor.WorkerProcessIds("killed")) Process.GetProcessById(pid).Kill();
                var failed = await WaitForEndAsync(redis, "killed", ct);
                Assert.Equal(JobState.Failed, failed.State);
                Assert.Contains("Worker rank 0", failed.Error);
                Assert.True(failed.Step is >= 7 and < 20, $"killed at step {failed.Step}");

                var resumeSpec = Spec(modelDir);
                resumeSpec.Resume = true;
                await supervisor.SubmitAsync("killed", resumeSpec, ct);
                var resumed = await WaitForEndAsync(redis, "killed", ct);
                Assert.True(resumed.State == JobState.Succeeded, resumed.Error);
                Assert.Equal(20, resumed.Step);
                Assert.EndsWith("checkpoint-000020", resumed.LatestCheckpointPath);

                // Watching the resumed run replays its current attempt only: from QUEUED, through the checkpoints, to SUCCEEDED.
                var replay = new List<TrainEvent>();
                await foreach (var e in new RunEventLog(redis.Connection, "killed").FollowAsync(TimeSpan.FromMilliseconds(50), ct)) replay.Add(e);
                Assert.Equal(JobState.Queued, replay[0].State.State);
                Assert.Equal(JobState.Succeeded, replay[^1].State.State);
                Assert.DoesNotContain(replay, e => e.State?.State == JobState.Failed);
                Assert.Contains(replay, e => e.Checkpoint?.Step == 20);
                Assert.True(replay.First(e => e.Metrics is not null).Metrics.Step > 1, "the resumed attempt starts after its checkpoint");

                // Bitwise-equal fp32 weights and optimizer state.
                foreach (var file in new[] { "model.safetensors", "optimizer.safetensors" })
                    Assert.True(File.ReadAllBytes(Path.Combine(straight.LatestCheckpointPath, file))
                        .AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(resumed.LatestCheckpointPath, file))), $"{file} differs");
            }
            finally
            {
                await supervisor.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task CancelRun_stops_the_workers_and_ends_the_run_cancelled()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = await RedisServer.StartAsync();
        await SampleDataset.SeedAsync(redis.Connection);
        var work = Directory.CreateTempSubdirectory("fg-trainer-test-").FullName;
        try
        {
            var (supervisor, modelDir) = await StartSupervisorAsync(redis, work, ct);
            try
            {
                var spec = Spec(modelDir);
                spec.MaxSteps = 1000;
                await supervisor.SubmitAsync("cancelled", spec, ct);
                var sw = Stopwatch.StartNew();
                while ((await MetricsAsync(redis, "cancelled")).Count < 1)
                {
                    Assert.True(sw.Elapsed < TimeSpan.FromMinutes(2), "run 'cancelled' never logged a step");
                    await Task.Delay(20, ct);
                }
                var pids = supervisor.WorkerProcessIds("cancelled");
                Assert.Single(pids);
                var run = await supervisor.CancelAsync("cancelled", ct);
                Assert.Equal(JobState.Cancelled, run.State);
                Assert.Empty(supervisor.WorkerProcessIds("cancelled"));
                Assert.True(Process.GetProcesses().All(p => p.Id != pids[0]) || Process.GetProcessById(pids[0]).HasExited);
            }
            finally { await supervisor.StopAsync(CancellationToken.None); }
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    static async Task<RunInfo> WaitForEndAsync(RedisServer redis, string runId, CancellationToken ct)
    {
        var runs = RecordStores.Runs(redis.Connection);
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var run = await runs.GetAsync(runId, ct);
            if (RunStates.IsTerminal(run.State)) return run;
            Assert.True(sw.Elapsed < TimeSpan.FromMinutes(3), $"run {runId} did not end: {run}");
            await Task.Delay(50, ct);
        }
    }

    static async Task<List<double>> MetricsAsync(RedisServer redis, string runId)
    {
        var events = await new RunEventLog(redis.Connection, runId).ReadAfterAsync("0-0", 10_000);
        // Steps of the latest attempt only: a resumed run logs again from its checkpoint.
        var byStep = new SortedDictionary<long, double>();
        foreach (var (_, e) in events)
            if (e.Metrics is { } m) byStep[m.Step] = m.Loss;
        return byStep.Values.ToList();
    }

    /// <summary>A tiny random base model under WORK/base and a started supervisor whose runs live under WORK/runs.</summary>
    private static async Task<(RunSupervisor Supervisor, string ModelDir)> StartSupervisorAsync(RedisServer redis, string work, CancellationToken ct)
    {
        var modelDir = Path.Combine(work, "base");
        using (var model = Gemma3ForCausalLM.Create(Gemma3Config.Tiny(), seed: 7))
            HfModelDirectory.Save(model, modelDir, ScalarType.Float32);
        var options = Options.Create(new TrainerOptions { Root = Path.Combine(work, "runs"), Redis = redis.ConnectionString, Poll = TimeSpan.FromMilliseconds(50) });
        var supervisor = new RunSupervisor(redis.Connection, options, new ModelResolver(options), NullLogger<RunSupervisor>.Instance);
        await supervisor.StartAsync(ct);
        return (supervisor, modelDir);
    }
}
