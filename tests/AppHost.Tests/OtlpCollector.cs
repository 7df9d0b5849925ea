using System.Collections.Concurrent;
using FunctionGemma.AppHost.Tests.Otlp;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FunctionGemma.AppHost.Tests;

/// <summary>One exported span, flattened: which service sent it, its trace and its attributes.</summary>
public sealed record CollectedSpan(string Service, string TraceId, string SpanId, string ParentSpanId, string Name, string Scope,
    IReadOnlyDictionary<string, string> Attributes);

/// <summary>A real OTLP/gRPC endpoint on loopback that the services export to during a test.</summary>
public sealed class OtlpCollector : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<CollectedSpan> _spans = new();

    private OtlpCollector(WebApplication app) => _app = app;

    /// <summary>The URL to put in OTEL_EXPORTER_OTLP_ENDPOINT.</summary>
    public string Endpoint { get; private set; } = "";

    /// <summary>Every span received so far.</summary>
    public IReadOnlyCollection<CollectedSpan> Spans => _spans.ToArray();

    public static async Task<OtlpCollector> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        // The sinks are created per call by DI and find their collector there (tests may run several collectors).
        var holder = new CollectorHolder();
        builder.Services.AddSingleton(holder);
        var app = builder.Build();
        var collector = new OtlpCollector(app);
        holder.Collector = collector;
        app.MapGrpcService<TraceSink>();
        app.MapGrpcService<MetricsSink>();
        app.MapGrpcService<LogsSink>();
        await app.StartAsync();
        collector.Endpoint = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return collector;
    }

    internal void Add(ExportTraceServiceRequest request)
    {
        foreach (var resource in request.ResourceSpans)
        {
            var service = resource.Resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value?.StringValue ?? "";
            foreach (var scope in resource.ScopeSpans)
                foreach (var span in scope.Spans)
                    _spans.Enqueue(new CollectedSpan(service, Convert.ToHexStringLower(span.TraceId.Span),
                        Convert.ToHexStringLower(span.SpanId.Span), Convert.ToHexStringLower(span.ParentSpanId.Span), span.Name,
                        scope.Scope?.Name ?? "",
                        span.Attributes.GroupBy(a => a.Key).ToDictionary(g => g.Key, g => Text(g.First().Value))));
        }
    }

    private static string Text(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => "",
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class CollectorHolder
    {
        public OtlpCollector? Collector { get; set; }
    }

    private sealed class TraceSink(CollectorHolder holder) : TraceService.TraceServiceBase
    {
        public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
        {
            holder.Collector?.Add(request);
            return Task.FromResult(new ExportTraceServiceResponse());
        }
    }

    private sealed class MetricsSink : Otlp.Metrics.MetricsService.MetricsServiceBase
    {
        public override Task<Otlp.Metrics.ExportMetricsServiceResponse> Export(Otlp.Metrics.ExportMetricsServiceRequest request, ServerCallContext context) =>
            Task.FromResult(new Otlp.Metrics.ExportMetricsServiceResponse());
    }

    private sealed class LogsSink : Otlp.Logs.LogsService.LogsServiceBase
    {
        public override Task<Otlp.Logs.ExportLogsServiceResponse> Export(Otlp.Logs.ExportLogsServiceRequest request, ServerCallContext context) =>
            Task.FromResult(new Otlp.Logs.ExportLogsServiceResponse());
    }
}
