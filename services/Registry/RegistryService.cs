using System.Runtime.CompilerServices;
using FunctionGemma.Protos;
using FunctionGemma.Registry.Hub;
using FunctionGemma.Registry.Store;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace FunctionGemma.Registry;

/// <summary>gRPC surface of the Registry: a thin layer over <see cref="ModelRegistry"/> and <see cref="HubPublisher"/>.</summary>
public sealed class RegistryService(ModelRegistry registry, HubPublisher publisher, IOptions<RegistryOptions> options) : Protos.Registry.RegistryBase
{
    public override async Task<ModelVersion> RegisterModel(IAsyncStreamReader<RegisterModelRequest> requestStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct) || requestStream.Current.PartCase != RegisterModelRequest.PartOneofCase.Header)
            throw new ArgumentException("RegisterModel must start with a header message (name, files, lineage) before any chunk.");
        var header = requestStream.Current.Header;
        return await registry.RegisterUploadAsync(header, Chunks(requestStream, ct), ct);

        static async IAsyncEnumerable<FileChunk> Chunks(IAsyncStreamReader<RegisterModelRequest> stream, [EnumeratorCancellation] CancellationToken ct)
        {
            while (await stream.MoveNext(ct))
            {
                if (stream.Current.PartCase != RegisterModelRequest.PartOneofCase.Chunk)
                    throw new ArgumentException("RegisterModel got a second header: send one header, then only chunks.");
                yield return stream.Current.Chunk;
            }
        }
    }

    public override Task<ModelVersion> RegisterDirectory(RegisterDirectoryRequest request, ServerCallContext context) =>
        registry.RegisterDirectoryAsync(request.Header ?? throw new ArgumentException("RegisterDirectoryRequest.header is missing: it names the model."),
            request.Path, context.CancellationToken);

    public override Task<ModelVersion> GetModel(ModelQuery request, ServerCallContext context) =>
        registry.GetAsync(request.Ref, context.CancellationToken);

    public override async Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        var response = new ListModelsResponse();
        response.Models.AddRange(await registry.ListAsync(request.Name, request.Alias, request.MetricFilter, request.Limit, context.CancellationToken));
        return response;
    }

    public override Task<ModelVersion> SetAlias(SetAliasRequest request, ServerCallContext context) =>
        registry.SetAliasAsync(request.Name, request.Alias, request.Version, context.CancellationToken);

    public override async Task PullModel(PullModelRequest request, IServerStreamWriter<ModelChunk> responseStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var version = await registry.GetAsync(request.Ref, ct);
        using var activity = RegistryTelemetry.Start("registry.pull", version.Lineage?.Traceparent);
        activity?.SetTag("model.version", version.Version);
        activity?.SetTag("pull.resume_path", request.Path);
        activity?.SetTag("pull.resume_offset", request.Offset);
        long bytes = 0;
        try
        {
            await foreach (var chunk in registry.ReadAsync(version, request.Path, request.Offset, options.Value.ChunkBytes, ct))
            {
                await responseStream.WriteAsync(chunk, ct);
                bytes += chunk.Data.Length;
            }
        }
        catch (CorruptBlobException e)
        {
            // DATA_LOSS, not INTERNAL: the caller learns the stored copy is damaged and must not use it.
            throw new RpcException(new Status(StatusCode.DataLoss, e.Message));
        }
        finally
        {
            activity?.SetTag("pull.bytes", bytes);
        }
    }

    public override async Task<PublishResult> PublishToHub(PublishRequest request, ServerCallContext context)
    {
        var version = await registry.GetAsync(request.Ref, context.CancellationToken);
        try
        {
            return await publisher.PublishAsync(version, request.RepoId, request.Private, request.Revision, request.CommitMessage, context.CancellationToken);
        }
        catch (CorruptBlobException e)
        {
            throw new RpcException(new Status(StatusCode.DataLoss, e.Message));
        }
        catch (IOException e)
        {
            // The Hub could not be reached: worth retrying later, unlike a refusal.
            throw new RpcException(new Status(StatusCode.Unavailable, e.Message));
        }
    }
}
