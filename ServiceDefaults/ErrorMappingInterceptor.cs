using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace FunctionGemma.ServiceDefaults;

/// <summary>
/// Turns the platform's exceptions into gRPC status codes that keep the exception's message, so a caller learns
/// which input was wrong and how to fix it instead of a bare INTERNAL.
/// </summary>
public sealed class ErrorMappingInterceptor(ILogger<ErrorMappingInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try { return await continuation(request, context); }
        catch (Exception e) when (e is not RpcException) { throw Map(e, context); }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(request, responseStream, context); }
        catch (Exception e) when (e is not RpcException) { throw Map(e, context); }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { return await continuation(requestStream, context); }
        catch (Exception e) when (e is not RpcException) { throw Map(e, context); }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(requestStream, responseStream, context); }
        catch (Exception e) when (e is not RpcException) { throw Map(e, context); }
    }

    private RpcException Map(Exception e, ServerCallContext context)
    {
        var code = StatusFor(e);
        if (code == StatusCode.Internal) logger.LogError(e, "{Method} failed", context.Method);
        else logger.LogInformation("{Method} -> {Code}: {Message}", context.Method, code, e.Message);
        return new RpcException(new Status(code, e.Message));
    }

    /// <summary>The status code the platform uses for an exception type.</summary>
    public static StatusCode StatusFor(Exception e) => e switch
    {
        OperationCanceledException => StatusCode.Cancelled,
        ArgumentException or FormatException or System.Text.Json.JsonException => StatusCode.InvalidArgument,
        KeyNotFoundException or FileNotFoundException or DirectoryNotFoundException => StatusCode.NotFound,
        InvalidOperationException => StatusCode.FailedPrecondition,
        UnauthorizedAccessException => StatusCode.PermissionDenied,
        TimeoutException => StatusCode.DeadlineExceeded,
        NotSupportedException => StatusCode.Unimplemented,
        _ => StatusCode.Internal,
    };
}
