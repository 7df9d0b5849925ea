using System.Diagnostics;
using FunctionGemma.Evaluator.Reports;
using FunctionGemma.Model;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;

namespace FunctionGemma.Evaluator.Evaluation;

/// <summary>
/// One evaluation, as the reference runs it: the first n clean rows of the split, each prompted with the developer
/// sentence, its tools and its task through the chat template; greedy decoding with stop ids; the new tokens decoded
/// with special tokens skipped and trimmed; scored by Core's metrics; stored as a report under its id.
/// </summary>
public sealed class EvalRunner(
    DatasetCatalog catalog,
    DatasetRows datasetRows,
    JsonRecordStore<EvalReport> reports,
    ModelResolver resolver,
    ModelHost models,
    IOptions<EvaluatorOptions> options,
    TimeProvider clock,
    ILogger<EvalRunner> logger)
{
    private readonly string _codeVersion = options.Value.CodeVersion is { Length: > 0 } v ? v : EvalSpecs.BuildCodeVersion();

    /// <summary>The code version report ids include.</summary>
    public string CodeVersion => _codeVersion;

    /// <summary>Runs (or finds) the evaluation of <paramref name="spec"/>, telling <paramref name="progress"/> as it goes.</summary>
    public async Task<EvalReport> RunAsync(EvalSpec spec, Func<Progress, Task> progress, CancellationToken ct)
    {
        var s = EvalSpecs.Normalize(spec);
        using var activity = EvaluatorTelemetry.Start("Evaluate", s.Lineage?.Traceparent);
        activity?.SetTag("fg.dataset.version", s.Dataset.Version);
        activity?.SetTag("fg.eval.n", s.N);
        activity?.SetTag("fg.eval.batch_size", s.BatchSize);
        activity?.SetTag("fg.eval.device", s.Device);
        try
        {
            var report = await RunCoreAsync(s, progress, activity, ct);
            activity?.SetTag("fg.report.id", report.ReportId);
            return report;
        }
        catch (Exception e)
        {
            EvaluatorTelemetry.Evaluations.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
    }

    private async Task<EvalReport> RunCoreAsync(EvalSpec s, Func<Progress, Task> progress, Activity? activity, CancellationToken ct)
    {
        Task Tell(string stage, long done, long total, string message) =>
            progress(new Progress { Stage = stage, Done = done, Total = total, Message = message, At = Timestamp.FromDateTimeOffset(clock.GetUtcNow()) });

        // Only complete dataset versions are evaluated; NOT_FOUND names the version otherwise.
        await catalog.GetAsync(s.Dataset.Version, ct);
        ResolvedModel model;
        using (EvaluatorTelemetry.Source.StartActivity("ResolveModel"))
            model = await resolver.ResolveAsync(s.Model, m => Tell("resolve", 0, 0, m), ct);
        activity?.SetTag("fg.model.identity", model.Identity);
        var reportId = EvalSpecs.ReportId(s, model.Identity, _codeVersion);
        if (!s.Force && await reports.FindAsync(reportId, ct) is { } stored)
        {
            EvaluatorTelemetry.Evaluations.Add(1, new KeyValuePair<string, object?>("outcome", "stored"));
            logger.LogInformation("Report {ReportId} already stored for {Model} on {Dataset}", reportId, model.Identity, s.Dataset.Version);
            return stored;
        }

        var rows = await datasetRows.ReadAsync(s.Dataset.Version, s.Split, 0, s.N, ct);
        if (rows.Count == 0)
            throw new InvalidOperationException($"Dataset version '{s.Dataset.Version}' has no {DatasetSplits.Name(s.Split)} rows to evaluate.");
        await Tell("rows", rows.Count, s.N, rows.Count < s.N
            ? $"the {DatasetSplits.Name(s.Split)} split has only {rows.Count} rows; evaluating all of them"
            : $"evaluating the first {rows.Count} {DatasetSplits.Name(s.Split)} rows");
        await Tell("load", 0, 1, $"waiting for the device, then loading {model.Path} on {s.Device} ({s.Dtype}) unless it is loaded");

        var loadClock = Stopwatch.StartNew();
        using var lease = await models.AcquireAsync(model, s.Device, s.Dtype, ct);
        await Tell("load", 1, 1, lease.Loaded ? $"loaded in {loadClock.Elapsed.TotalSeconds:0.#} s" : "already loaded");
        // A concurrent identical request may have finished while this one waited for the device.
        if (!s.Force && await reports.FindAsync(reportId, ct) is { } justStored) return justStored;

        var started = Stopwatch.StartNew();
        var generated = await GenerateAsync(s, rows, lease, Tell, ct);
        var seconds = started.Elapsed.TotalSeconds;

        var report = new EvalReport
        {
            ReportId = reportId,
            Spec = s,
            ModelIdentity = model.Identity,
            ModelVersion = model.RegistryVersion,
            ModelPath = model.Path,
            Device = s.Device,
            Dtype = s.Dtype,
            SpecHash = EvalSpecs.SpecHash(s),
            Seconds = seconds,
            Created = Timestamp.FromDateTimeOffset(clock.GetUtcNow()),
        };
        ReportBuilder.Fill(report, generated);
        report.RowsPerSecond = generated.Count / Math.Max(seconds, 1e-9);
        report.TokensPerSecond = report.GeneratedTokens / Math.Max(seconds, 1e-9);
        report.Lineage = new Lineage
        {
            ExperimentId = s.Lineage?.ExperimentId ?? "",
            Creator = s.Lineage?.Creator ?? "",
            Traceparent = activity?.Id ?? s.Lineage?.Traceparent ?? "",
            CodeVersion = _codeVersion,
            Created = report.Created,
        };

        EvaluatorTelemetry.Rows.Add(generated.Count);
        EvaluatorTelemetry.GeneratedTokens.Add(report.GeneratedTokens);
        var device = new KeyValuePair<string, object?>("device", s.Device);
        EvaluatorTelemetry.RowsPerSecond.Record(report.RowsPerSecond, device);
        EvaluatorTelemetry.TokensPerSecond.Record(report.TokensPerSecond, device);
        EvaluatorTelemetry.Duration.Record(seconds, device);
        EvaluatorTelemetry.Evaluations.Add(1, new KeyValuePair<string, object?>("outcome", "computed"));
        activity?.SetTag("fg.eval.tool_accuracy", report.Overall.ToolAccuracy);
        activity?.SetTag("fg.eval.tc_cer", report.Overall.TcCer);

        await Tell("store", rows.Count, rows.Count, $"storing report {reportId}");
        if (s.Force) await reports.PutAsync(reportId, report, clock.GetUtcNow(), ct);
        else await reports.TryCreateAsync(reportId, report, clock.GetUtcNow(), ct);
        logger.LogInformation("Report {ReportId}: {Rows} rows, tool accuracy {ToolAccuracy:0.###}, TC-CER {TcCer:0.###}, {RowsPerSecond:0.##} rows/s on {Device}",
            reportId, generated.Count, report.Overall.ToolAccuracy, report.Overall.TcCer, report.RowsPerSecond, s.Device);
        return report;
    }

    private static Task<List<GeneratedRow>> GenerateAsync(EvalSpec s, IReadOnlyList<DatasetRow> rows, ModelLease lease,
        Func<string, long, long, string, Task> tell, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var options = new GenerationOptions(s.MaxNewTokens, s.StopTokenIds.ToArray(), lease.Tokenizer.PadId);
        return BatchedGeneration.RunAsync(lease.Model, lease.Tokenizer, rows, s.BatchSize, options, (done, tokens) =>
        {
            var elapsed = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            return tell("generate", done, rows.Count, $"{done / elapsed:0.##} rows/s, {tokens / elapsed:0.#} tokens/s");
        }, ct);
    }
}
