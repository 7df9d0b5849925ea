using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using Grpc.Core;
using StackExchange.Redis;

namespace FunctionGemma.Evaluator.Tests;

/// <summary>Evaluate → report → GetReport/Render/Compare through the running services, on a tiny random model (numbers are meaningless).</summary>
[Collection(nameof(EvaluatorSystem))]
public sealed class EndToEndTests(EvaluatorSystem system)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Evaluate_streams_progress_then_a_report_that_is_stored_with_lineage()
    {
        var measurements = new ConcurrentBag<(string Name, double Value)>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (i, l) => { if (i.Meter.Name == EvaluatorTelemetry.Name) l.EnableMeasurementEvents(i); };
        meters.SetMeasurementEventCallback<double>((i, v, _, _) => measurements.Add((i.Name, v)));
        meters.SetMeasurementEventCallback<long>((i, v, _, _) => measurements.Add((i.Name, v)));
        meters.Start();
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == EvaluatorTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);

        var (progress, report) = await system.EvaluateAsync(system.Spec(n: 6, batchSize: 3) );

        var generate = progress.Where(p => p.Stage == "generate").ToList();
        Assert.Equal([3L, 6L], generate.Select(p => p.Done));
        Assert.All(generate, p => Assert.Equal(6, p.Total));
        Assert.Equal(64, report.ReportId.Length);
        Assert.Equal(6, report.Overall.Rows);
        Assert.Equal(6, report.Rows.Count);
        Assert.Equal(report.Rows.Select(r => r.Index).Order(), report.Rows.Select(r => r.Index));
        Assert.Equal(6, report.ByTool.Values.Sum(m => m.Rows));
        Assert.Equal(6, report.ByScenario.Values.Sum(m => m.Rows));
        Assert.InRange(report.Overall.ToolAccuracy, 0, 1);
        Assert.Equal((double)report.Overall.CerEdits / report.Overall.CerReferenceChars, report.Overall.TcCer, 12);
        Assert.All(report.Rows, r => Assert.StartsWith("<start_function_call>call:" + r.GoldTool + "{args:<escape>", r.Gold));
        Assert.All(report.Rows, r => Assert.InRange(r.GeneratedTokens, 1, 10));
        Assert.Equal(report.Rows.Sum(r => (long)r.GeneratedTokens), report.GeneratedTokens);
        Assert.True(report.RowsPerSecond > 0 && report.TokensPerSecond > 0);
        // The spec comes back normalized: the reference's defaults filled in.
        Assert.Equal(Split.Eval, report.Spec.Split);
        Assert.Equal([1, 106, 50], report.Spec.StopTokenIds);
        Assert.Equal(("cpu", "float32"), (report.Device, report.Dtype));
        Assert.StartsWith("sha256:", report.ModelIdentity);
        Assert.Equal(system.ModelDir, report.ModelPath);
        Assert.Equal("e2e", report.Lineage.ExperimentId);
        Assert.NotEmpty(report.Lineage.CodeVersion);
        Assert.NotEmpty(report.Lineage.Traceparent);

        var db = system.Redis.Connection.GetDatabase();
        Assert.True(await db.KeyExistsAsync(RedisKeys.Report(report.ReportId)));
        Assert.NotNull(await db.SortedSetScoreAsync(RedisKeys.ReportIndex, report.ReportId));
        var fetched = await system.Client.GetReportAsync(new ReportRequest { ReportId = report.ReportId }, cancellationToken: Ct);
        Assert.Equal(report, fetched);

        Assert.Contains(spans, s => s.OperationName == "Evaluate" && (string?)s.GetTagItem("fg.report.id") == report.ReportId);
        Assert.Contains(spans, s => s.OperationName == "GenerateBatch");
        Assert.Contains(measurements, m => m.Name == "evaluator.rows_per_second" && m.Value > 0);
        Assert.Contains(measurements, m => m.Name == "evaluator.tokens_per_second" && m.Value > 0);
        Assert.Contains(measurements, m => m.Name == "evaluator.rows" && m.Value == 6);
    }

    [Fact]
    public async Task Repeating_a_spec_returns_the_stored_report_without_generating()
    {
        var (_, first) = await system.EvaluateAsync(system.Spec(n: 4, batchSize: 4));
        var (progress, again) = await system.EvaluateAsync(system.Spec(n: 4, batchSize: 4));
        Assert.DoesNotContain(progress, p => p.Stage == "generate");
        Assert.Equal(first, again);

        // force re-runs and replaces it under the same id; greedy decoding gives the same rows.
        var forced = system.Spec(n: 4, batchSize: 4);
        forced.Force = true;
        var (forcedProgress, rerun) = await system.EvaluateAsync(forced);
        Assert.Contains(forcedProgress, p => p.Stage == "generate");
        Assert.Equal(first.ReportId, rerun.ReportId);
        Assert.Equal(first.Rows.Select(r => r.Prediction), rerun.Rows.Select(r => r.Prediction));
    }

    [Fact]
    public async Task A_trainer_checkpoint_of_the_same_weights_resolves_to_the_same_report()
    {
        var (_, byPath) = await system.EvaluateAsync(system.Spec(n: 3, batchSize: 3));
        var runs = RecordStores.Runs(system.Redis.Connection);
        var run = new RunInfo { RunId = "run-e2e", State = JobState.Succeeded, LatestCheckpoint = new CheckpointRef { RunId = "run-e2e", Step = 20 }, LatestCheckpointPath = system.ModelDir };
        await runs.PutAsync(run.RunId, run, DateTimeOffset.UtcNow, Ct);

        foreach (var step in new[] { 0L, 20L })
        {
            var spec = system.Spec(n: 3, batchSize: 3);
            spec.Model = new ModelRef { Checkpoint = new CheckpointRef { RunId = "run-e2e", Step = step } };
            var (progress, byCheckpoint) = await system.EvaluateAsync(spec);
            Assert.Equal(byPath.ReportId, byCheckpoint.ReportId);
            Assert.DoesNotContain(progress, p => p.Stage == "generate");
        }

        // A run Redis does not know: its checkpoints are found under the Trainer root, by step or the newest for 0.
        system.LinkCheckpoint("run-on-disk", 5);
        system.LinkCheckpoint("run-on-disk", 10);
        foreach (var step in new[] { 0L, 5L })
        {
            var spec = system.Spec(n: 3, batchSize: 3);
            spec.Model = new ModelRef { Checkpoint = new CheckpointRef { RunId = "run-on-disk", Step = step } };
            var (_, onDisk) = await system.EvaluateAsync(spec);
            Assert.Equal(byPath.ReportId, onDisk.ReportId);
        }

        var missing = system.Spec();
        missing.Model = new ModelRef { Checkpoint = new CheckpointRef { RunId = "run-e2e", Step = 7 } };
        var e = await Assert.ThrowsAsync<RpcException>(() => system.EvaluateAsync(missing));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
    }

    [Fact]
    public async Task Batched_and_one_row_decoding_agree_and_compare_with_zero_metric_deltas()
    {
        var (_, batched) = await system.EvaluateAsync(system.Spec(n: 5, batchSize: 5));
        var (_, single) = await system.EvaluateAsync(system.Spec(n: 5, batchSize: 1));
        Assert.NotEqual(batched.ReportId, single.ReportId);
        Assert.NotEqual(batched.SpecHash, single.SpecHash);
        Assert.Equal(single.Rows.Select(r => r.Prediction), batched.Rows.Select(r => r.Prediction));

        var c = await system.Client.CompareReportsAsync(new CompareRequest { BeforeReportId = single.ReportId, AfterReportId = batched.ReportId }, cancellationToken: Ct);
        Assert.Equal(single.ReportId, c.Before.ReportId);
        foreach (var metric in new[] { "tool_accuracy", "tc_cer", "exact_match", "argument_f1", "json_valid_rate", "schema_valid_rate" })
            Assert.Equal(0, c.Deltas[metric]);
        Assert.Empty(c.ChangedRows);
        Assert.Equal(batched.ByTool.Keys.Order(), c.ByToolDeltas.Keys.Order());
        Assert.Contains("| tool_accuracy |", c.Markdown);
    }

    [Fact]
    public async Task RenderReport_gives_markdown_and_html_with_the_worst_rows()
    {
        var (_, report) = await system.EvaluateAsync(system.Spec(n: 4, batchSize: 2));
        var md = await system.Client.RenderReportAsync(new RenderReportRequest { ReportId = report.ReportId, WorstRows = 2 }, cancellationToken: Ct);
        Assert.Equal(("markdown", "text/markdown"), (md.Format, md.MediaType));
        Assert.Contains("## Worst rows (2 of 4)", md.Text);
        Assert.Contains("## Per tool", md.Text);
        Assert.Contains(report.Rows[0].GoldTool, md.Text);

        var html = await system.Client.RenderReportAsync(new RenderReportRequest { ReportId = report.ReportId, Format = "html" }, cancellationToken: Ct);
        Assert.Equal("text/html", html.MediaType);
        Assert.StartsWith("<!DOCTYPE html>", html.Text);
        Assert.Contains("&lt;start_function_call&gt;", html.Text);
        Assert.DoesNotContain("<start_function_call>", html.Text);

        var list = await system.Client.ListReportsAsync(new ListReportsRequest { Limit = 50 }, cancellationToken: Ct);
        var listed = Assert.Single(list.Reports, r => r.ReportId == report.ReportId);
        Assert.Empty(listed.Rows);
        Assert.Equal(report.Overall, listed.Overall);
    }

    [Fact]
    public async Task Bad_requests_fail_with_status_codes_that_name_the_input()
    {
        async Task<RpcException> Fails(EvalSpec spec) => await Assert.ThrowsAsync<RpcException>(() => system.EvaluateAsync(spec));

        var noDataset = system.Spec();
        noDataset.Dataset.Version = "no-such-version";
        var e = await Fails(noDataset);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("no-such-version", e.Status.Detail);

        var noModel = system.Spec();
        noModel.Model.LocalPath = "/nonexistent/model";
        Assert.Equal(StatusCode.NotFound, (await Fails(noModel)).StatusCode);

        var negative = system.Spec();
        negative.N = -1;
        e = await Fails(negative);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("EvalSpec.n", e.Status.Detail);

        if (!TorchSharp.torch.cuda.is_available())
        {
            var gpu = system.Spec();
            gpu.Device = "cuda:0";
            Assert.Equal(StatusCode.FailedPrecondition, (await Fails(gpu)).StatusCode);
        }

        var unknown = await Assert.ThrowsAsync<RpcException>(async () =>
            await system.Client.GetReportAsync(new ReportRequest { ReportId = "nope" }, cancellationToken: Ct));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }
}

/// <summary>Models named by Registry version or alias are pulled once into the Evaluator's cache and reported by version.</summary>
[Collection(nameof(EvaluatorSystem))]
public sealed class RegistryModelTests(EvaluatorSystem system)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_alias_is_pinned_to_its_version_pulled_and_reported_by_version()
    {
        var registry = new Protos.Registry.RegistryClient(system.RegistryChannel);
        var version = await registry.RegisterDirectoryAsync(new RegisterDirectoryRequest
        {
            Path = system.ModelDir,
            Header = new RegisterHeader { Name = "tiny-e2e", Aliases = { "candidate" } },
        }, cancellationToken: Ct);

        var byAlias = system.Spec(n: 3, batchSize: 3);
        byAlias.Model = new ModelRef { RegistryAlias = "tiny-e2e:candidate" };
        var (progress, report) = await system.EvaluateAsync(byAlias);
        Assert.Contains(progress, p => p.Stage == "resolve" && p.Message.Contains(version.Version));
        Assert.Equal(version.Version, report.ModelVersion);
        Assert.Equal("registry:" + version.Version, report.ModelIdentity);
        Assert.Equal(Path.Combine(system.ModelCache, version.Version), report.ModelPath);
        Assert.True(File.Exists(Path.Combine(report.ModelPath, "model.safetensors")));

        // The same weights from the local directory decode the same way.
        var (_, local) = await system.EvaluateAsync(system.Spec(n: 3, batchSize: 3));
        Assert.Equal(local.Rows.Select(r => r.Prediction), report.Rows.Select(r => r.Prediction));

        var byVersion = system.Spec(n: 3, batchSize: 3);
        byVersion.Model = new ModelRef { RegistryVersion = version.Version };
        var (again, same) = await system.EvaluateAsync(byVersion);
        Assert.Equal(report.ReportId, same.ReportId);
        Assert.DoesNotContain(again, p => p.Stage == "generate");

        var unknown = system.Spec();
        unknown.Model = new ModelRef { RegistryAlias = "tiny-e2e:nope" };
        var e = await Assert.ThrowsAsync<RpcException>(() => system.EvaluateAsync(unknown));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
    }
}

[Collection(nameof(EvaluatorSystem))]
public sealed class ConcurrencyTests(EvaluatorSystem system)
{
    [Fact]
    public async Task Identical_concurrent_requests_generate_once()
    {
        var spec = system.Spec(n: 2, batchSize: 2, maxNewTokens: 6);
        spec.Lineage.ExperimentId = "concurrent";
        var runs = await Task.WhenAll(system.EvaluateAsync(spec), system.EvaluateAsync(spec));
        Assert.Equal(runs[0].Report.ReportId, runs[1].Report.ReportId);
        Assert.Equal(1, runs.Count(r => r.Progress.Any(p => p.Stage == "generate")));
    }
}
