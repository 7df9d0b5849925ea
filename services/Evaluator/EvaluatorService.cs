using FunctionGemma.Evaluator.Evaluation;
using FunctionGemma.Evaluator.Reports;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using Grpc.Core;

namespace FunctionGemma.Evaluator;

/// <summary>gRPC surface of the Evaluator: evaluations streamed as they run, and their stored reports.</summary>
public sealed class EvaluatorService(EvalRunner runner, JsonRecordStore<EvalReport> reports) : Protos.Evaluator.EvaluatorBase
{
    public override async Task Evaluate(EvalSpec request, IServerStreamWriter<EvalProgress> responseStream, ServerCallContext context)
    {
        var report = await runner.RunAsync(request, p => responseStream.WriteAsync(new EvalProgress { Progress = p }, context.CancellationToken),
            context.CancellationToken);
        await responseStream.WriteAsync(new EvalProgress { Done = report }, context.CancellationToken);
    }

    public override Task<EvalReport> GetReport(ReportRequest request, ServerCallContext context) =>
        GetAsync(request.ReportId, "ReportRequest.report_id", context.CancellationToken);

    public override async Task<ReportComparison> CompareReports(CompareRequest request, ServerCallContext context)
    {
        var before = await GetAsync(request.BeforeReportId, "CompareRequest.before_report_id", context.CancellationToken);
        var after = await GetAsync(request.AfterReportId, "CompareRequest.after_report_id", context.CancellationToken);
        return ReportComparer.Compare(before, after);
    }

    public override async Task<RenderedReport> RenderReport(RenderReportRequest request, ServerCallContext context)
    {
        var report = await GetAsync(request.ReportId, "RenderReportRequest.report_id", context.CancellationToken);
        var (format, mediaType, text) = ReportRenderer.Render(report, request.Format, request.WorstRows);
        return new RenderedReport { ReportId = report.ReportId, Format = format, MediaType = mediaType, Text = text };
    }

    public override async Task<ListReportsResponse> ListReports(ListReportsRequest request, ServerCallContext context)
    {
        if (request.Limit < 0) throw new ArgumentException($"ListReportsRequest.limit is {request.Limit}: use 0 for all or a positive count.");
        var response = new ListReportsResponse();
        foreach (var r in await reports.ListAsync(request.Limit, context.CancellationToken))
        {
            // The list is an index: rows stay with GetReport.
            r.Rows.Clear();
            response.Reports.Add(r);
        }
        return response;
    }

    private Task<EvalReport> GetAsync(string id, string field, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(id)) throw new ArgumentException($"{field} is empty: pass the report_id that Evaluate returned.");
        return reports.GetAsync(id, ct);
    }
}
