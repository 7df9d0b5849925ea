using FunctionGemma.Core;
using FunctionGemma.Experiments;
using FunctionGemma.Model;
using FunctionGemma.Protos;

namespace FunctionGemma.AppHost.Tests;

/// <summary>The README's main job as a test: the quickstart spec through all four services of the running system.</summary>
public sealed class QuickstartExperimentTests(RunningSystem system)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_quickstart_runs_end_to_end_with_one_trace_across_the_services()
    {
        var spec = ExperimentSpecLoader.LoadFile(Path.Combine(RepoPaths.Root(), "samples", "quickstart.yaml"));
        var work = Directory.CreateTempSubdirectory("fg-quickstart-").FullName;
        var runner = new ExperimentRunner(ServiceClients.From(system.Channel), new ExperimentJournal(Path.Combine(work, "experiments")), new RandomInitFactory(), work);
        var stages = new List<StageUpdate>();

        using var listener = TestTracing.Listen(ExperimentRunner.Source.Name);
        var outcome = await runner.RunAsync(spec, "samples/quickstart.yaml", new SyncProgress<StageUpdate>(stages.Add), Ct);

        // Every stage ran, in order.
        var done = stages.Where(s => s.Status == "done").Select(s => s.Stage).ToList();
        Assert.Equal([Stage.Dataset, Stage.BaseModel, Stage.Baseline, Stage.Train, Stage.PostEval, Stage.Register], done);

        // The reports are real reports of the same rows.
        Assert.NotNull(outcome.Baseline);
        Assert.Equal(spec.Evaluation.N, outcome.Post.Overall.Rows);
        Assert.Equal(spec.Evaluation.N, outcome.Baseline!.Overall.Rows);
        Assert.InRange(outcome.Post.Overall.ToolAccuracy, 0, 1);
        Assert.NotNull(outcome.Comparison);

        // The model is in the Registry with its lineage.
        var model = await new Protos.Registry.RegistryClient(system.Channel("registry")).GetModelAsync(new ModelQuery { Ref = "quickstart:latest" }, cancellationToken: Ct);
        Assert.Equal(outcome.Model.Version, model.Version);
        Assert.Equal(outcome.Record.DatasetVersion, model.Dataset.Version);
        Assert.Contains(outcome.Post.ReportId, model.EvalReportIds);
        Assert.Contains(model.Files, f => f.Path == "model.safetensors");
        Assert.DoesNotContain(model.Files, f => f.Path.StartsWith("optimizer", StringComparison.Ordinal));

        // One trace id covers the coordinator and spans from every service.
        var traceId = outcome.Record.TraceId!.Split('-')[1];
        var services = await TestTracing.WaitForServicesAsync(system.Collector, traceId, ["dataprep", "trainer", "evaluator", "registry"], Ct);
        Assert.Equal(["dataprep", "evaluator", "registry", "trainer"], services);

        // Running the same spec again redoes nothing and returns the same results.
        var again = await runner.RunAsync(spec, "samples/quickstart.yaml", null, Ct);
        Assert.Equal(outcome.Model.Version, again.Model.Version);
        Assert.Equal(outcome.Post.ReportId, again.Post.ReportId);
        Assert.Equal(outcome.Record.TraceId, again.Record.TraceId);
    }
}
