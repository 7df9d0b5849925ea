using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using FunctionGemma.Core;
using FunctionGemma.Experiments;
using FunctionGemma.Model;
using FunctionGemma.Protos;
using Microsoft.Extensions.DependencyInjection;

namespace FunctionGemma.AppHost.Tests;

/// <summary>Issue 10's crash proof: the Trainer process dies mid-experiment; running the spec again resumes it.</summary>
public sealed class TrainerCrashResumeTests(RunningSystem system)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Killing_the_trainer_mid_run_then_running_again_resumes_from_the_checkpoint()
    {
        // The quickstart under another name: its own experiment id, so its own training run.
        var spec = ExperimentSpecLoader.LoadFile(Path.Combine(RepoPaths.Root(), "samples", "quickstart.yaml")) with { Name = "crash-resume" };
        var work = Directory.CreateTempSubdirectory("fg-crash-").FullName;
        var journal = new ExperimentJournal(Path.Combine(work, "experiments"));
        var runner = new ExperimentRunner(ServiceClients.From(system.Channel), journal, new RandomInitFactory(), work);

        // First attempt: kill the Trainer process as soon as the step-10 checkpoint is announced.
        var killed = false;
        var progress = new SyncProgress<StageUpdate>(u =>
        {
            if (!killed && u.Stage == Stage.Train && u.Status == "checkpoint" && u.Done >= 10)
            {
                killed = true;
                TrainerProcess().Kill(entireProcessTree: true);
            }
        });
        await Assert.ThrowsAnyAsync<Exception>(() => runner.RunAsync(spec, "crash-resume", progress, Ct));
        Assert.True(killed, "the run never reached its step-10 checkpoint");
        var interrupted = journal.Find(ExperimentSpecLoader.ExperimentId(spec))!;
        Assert.NotEqual("succeeded", interrupted.State);
        var datasetVersion = interrupted.DatasetVersion;
        var baselineId = interrupted.BaselineReportId;

        // The operator restarts the Trainer; the dead run is marked FAILED by the new process.
        var commands = system.App.Services.GetRequiredService<ResourceCommandService>();
        var started = await commands.ExecuteCommandAsync("trainer", KnownResourceCommands.StartCommand, Ct);
        Assert.True(started.Success, started.Message);
        await system.App.ResourceNotifications.WaitForResourceHealthyAsync("trainer", Ct);

        // Second attempt: the same spec continues; earlier stages are not redone and training resumes after step 10.
        var resumedSteps = new List<long>();
        var outcome = await runner.RunAsync(spec, "crash-resume", new SyncProgress<StageUpdate>(u =>
        {
            if (u.Stage == Stage.Train && u.Status == "step") resumedSteps.Add(u.Done);
        }), Ct);

        Assert.Equal("succeeded", outcome.Record.State);
        Assert.Equal(datasetVersion, outcome.Record.DatasetVersion);
        Assert.Equal(baselineId, outcome.Record.BaselineReportId);
        Assert.Equal(interrupted.TraceId, outcome.Record.TraceId);
        Assert.NotEmpty(resumedSteps);
        Assert.All(resumedSteps, s => Assert.True(s > 10, $"step {s} was trained again after the step-10 checkpoint"));
        var run = await new Trainer.TrainerClient(system.Channel("trainer")).GetRunAsync(new RunRequest { RunId = outcome.Record.RunId }, cancellationToken: Ct);
        Assert.Equal(JobState.Succeeded, run.State);
        Assert.Equal(spec.Train.MaxSteps, run.Step);
    }

    /// <summary>This system's Trainer service process: the one whose environment points at this test's data folder.</summary>
    private Process TrainerProcess()
    {
        var marker = $"Trainer__Root={Path.Combine(system.DataDir, "runs")}";
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (!cmdline.Contains("Trainer", StringComparison.Ordinal) || cmdline.Contains("worker", StringComparison.Ordinal)) continue;
                if (File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').Contains(marker)) return Process.GetProcessById(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { }
        }
        throw new InvalidOperationException($"No Trainer process with {marker} found.");
    }
}
