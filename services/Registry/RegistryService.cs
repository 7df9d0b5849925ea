using System.Diagnostics;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using Grpc.Core;

namespace FunctionGemma.Registry;

/// <summary>gRPC surface of the Registry: model versions and their metadata.</summary>
public sealed class RegistryService(JsonRecordStore<ModelVersion> models) : Protos.Registry.RegistryBase
{
    internal static readonly ActivitySource Source = new("FunctionGemma.Registry");

    public override Task<ModelVersion> GetModel(ModelQuery request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.Ref)) throw new ArgumentException("ModelQuery.ref is empty: pass a version id or NAME:ALIAS.");
        return models.GetAsync(request.Ref, context.CancellationToken);
    }

    public override async Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        var all = await models.ListAsync(0, context.CancellationToken);
        var response = new ListModelsResponse();
        response.Models.AddRange(all
            .Where(m => string.IsNullOrEmpty(request.Name) || m.Name == request.Name)
            .Where(m => string.IsNullOrEmpty(request.Alias) || m.Aliases.Contains(request.Alias))
            .Take(request.Limit <= 0 ? int.MaxValue : request.Limit));
        return response;
    }
}
