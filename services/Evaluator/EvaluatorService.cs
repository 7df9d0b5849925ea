using System.Diagnostics;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using Grpc.Core;

namespace FunctionGemma.Evaluator;

/// <summary>gRPC surface of the Evaluator: stored evaluation reports.</summary>
public sealed class EvaluatorService(JsonRecordStore<EvalReport> reports) : Protos.Evaluator.EvaluatorBase
{
    internal static readonly ActivitySource Source = new("FunctionGemma.Evaluator");

    public override Task<EvalReport> GetReport(ReportRequest request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.ReportId)) throw new ArgumentException("ReportRequest.report_id is empty.");
        return reports.GetAsync(request.ReportId, context.CancellationToken);
    }
}
