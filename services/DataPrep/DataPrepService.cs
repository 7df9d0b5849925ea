using System.Diagnostics;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using Grpc.Core;

namespace FunctionGemma.DataPrep;

/// <summary>gRPC surface of DataPrep: dataset versions in Redis.</summary>
public sealed class DataPrepService(DatasetCatalog catalog) : Protos.DataPrep.DataPrepBase
{
    internal static readonly ActivitySource Source = new("FunctionGemma.DataPrep");

    public override async Task<DatasetManifest> GetDataset(DatasetRef request, ServerCallContext context)
    {
        using var activity = Source.StartActivity("GetDataset");
        activity?.SetTag("fg.dataset.version", request.Version);
        if (string.IsNullOrWhiteSpace(request.Version))
            throw new ArgumentException("DatasetRef.version is empty: pass the version id that PrepareDataset returned.");
        return await catalog.GetAsync(request.Version, context.CancellationToken);
    }

    public override async Task<ListDatasetsResponse> ListDatasets(ListDatasetsRequest request, ServerCallContext context)
    {
        var response = new ListDatasetsResponse();
        response.Datasets.AddRange(await catalog.ListAsync(request.Limit, context.CancellationToken));
        return response;
    }
}
