using FunctionGemma.Protos;
using FunctionGemma.Storage;
using Grpc.Core;

namespace FunctionGemma.DataPrep;

/// <summary>gRPC surface of DataPrep: prepare, inspect and read dataset versions in Redis.</summary>
public sealed class DataPrepService(DatasetPreparer preparer, DatasetCatalog catalog, DatasetRows rows) : Protos.DataPrep.DataPrepBase
{
    public override async Task PrepareDataset(DatasetSpec request, IServerStreamWriter<PrepareProgress> responseStream, ServerCallContext context) =>
        await preparer.PrepareAsync(request, p => responseStream.WriteAsync(p, context.CancellationToken), context.CancellationToken);

    public override async Task<DatasetManifest> GetDataset(DatasetRef request, ServerCallContext context)
    {
        using var activity = DataPrepMetrics.Source.StartActivity("GetDataset");
        activity?.SetTag("fg.dataset.version", request.Version);
        return await catalog.GetAsync(RequireVersion(request), context.CancellationToken);
    }

    public override async Task<ListDatasetsResponse> ListDatasets(ListDatasetsRequest request, ServerCallContext context)
    {
        var response = new ListDatasetsResponse();
        response.Datasets.AddRange(await catalog.ListAsync(request.Limit, context.CancellationToken));
        return response;
    }

    public override async Task ReadRows(ReadRowsRequest request, IServerStreamWriter<Protos.CleanRow> responseStream, ServerCallContext context)
    {
        using var activity = DataPrepMetrics.Source.StartActivity("ReadRows");
        var version = RequireVersion(request.Ref);
        activity?.SetTag("fg.dataset.version", version);
        if (request.Split == Split.Unspecified)
            throw new ArgumentException("ReadRowsRequest.split is unspecified: use SPLIT_TRAIN or SPLIT_EVAL.");
        if (request.Offset < 0) throw new ArgumentException($"ReadRowsRequest.offset is {request.Offset}: it must be ≥ 0.");
        if (request.Limit < 0) throw new ArgumentException($"ReadRowsRequest.limit is {request.Limit}: it must be ≥ 0 (0 = all remaining rows).");
        await foreach (var row in rows.StreamAsync(version, request.Split, request.Offset, request.Limit, context.CancellationToken))
            await responseStream.WriteAsync(row.ToProto(), context.CancellationToken);
    }

    private static string RequireVersion(DatasetRef? reference) =>
        string.IsNullOrWhiteSpace(reference?.Version)
            ? throw new ArgumentException("DatasetRef.version is empty: pass the version id that PrepareDataset returned.")
            : reference.Version;
}
