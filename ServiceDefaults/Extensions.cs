using FunctionGemma.ServiceDefaults;
using Grpc.Net.Client.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>What every FunctionGemma.Aspire service shares: telemetry, health, discovery, gRPC retries and plumbing.</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>ActivitySources and Meters of the platform are named "FunctionGemma.&lt;Service&gt;".</summary>
    public const string TelemetryPrefix = "FunctionGemma.";

    private const string LiveTag = "live";

    /// <summary>OpenTelemetry (traces, metrics, logs over OTLP), health checks and service discovery.</summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        builder.Services.AddServiceDiscovery();
        // Discovery for every client. Resilience for the platform's gRPC clients is gRPC's own retry policy
        // (AddPlatformGrpcClient): an HTTP-level total timeout would cut long streams.
        builder.Services.ConfigureHttpClientDefaults(http => http.AddServiceDiscovery());
        return builder;
    }

    /// <summary>gRPC server with the platform's error mapping, the gRPC health service and reflection.</summary>
    public static IServiceCollection AddPlatformGrpc(this IServiceCollection services)
    {
        services.AddGrpc(o =>
        {
            o.Interceptors.Add<ErrorMappingInterceptor>();
            // Model files and row batches travel in chunks well below this.
            o.MaxReceiveMessageSize = 16 * 1024 * 1024;
            o.MaxSendMessageSize = 16 * 1024 * 1024;
        });
        services.AddGrpcHealthChecks();
        services.AddGrpcReflection();
        return services;
    }

    /// <summary>
    /// A typed gRPC client for another platform service, found by service discovery on its "grpc" endpoint,
    /// with gRPC's own retry policy for UNAVAILABLE (retries stop once a response has started, so streams are safe).
    /// </summary>
    public static IHttpClientBuilder AddPlatformGrpcClient<TClient>(this IServiceCollection services, string serviceName) where TClient : class
    {
        var retry = new MethodConfig
        {
            Names = { MethodName.Default },
            RetryPolicy = new RetryPolicy
            {
                MaxAttempts = 5,
                InitialBackoff = TimeSpan.FromMilliseconds(200),
                MaxBackoff = TimeSpan.FromSeconds(3),
                BackoffMultiplier = 2,
                RetryableStatusCodes = { Grpc.Core.StatusCode.Unavailable },
            },
        };
        return services
            .AddGrpcClient<TClient>(o => o.Address = new Uri($"http://_grpc.{serviceName}"))
            .ConfigureChannel(c => c.ServiceConfig = new ServiceConfig { MethodConfigs = { retry } });
    }

    /// <summary>/health (everything, Redis included) and /alive (the process), plus the gRPC health and reflection services.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health");
        app.MapHealthChecks("/alive", new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag) });
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        return app;
    }

    private static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(TelemetryPrefix + "*"))
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource(TelemetryPrefix + "*")
                // Health probes would drown the experiment's spans.
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx =>
                    !ctx.Request.Path.StartsWithSegments("/health") && !ctx.Request.Path.StartsWithSegments("/alive")
                    && !ctx.Request.Path.StartsWithSegments("/grpc.health.v1.Health"))
                .AddGrpcClientInstrumentation()
                .AddHttpClientInstrumentation());

        // Aspire injects OTEL_EXPORTER_OTLP_ENDPOINT (the dashboard); without it the service runs with no exporter.
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        return builder;
    }
}
