using FunctionGemma.Experiments;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace FunctionGemma.Cli.Platform;

/// <summary>fg's own spans (the experiment root and its stages) go to the same OTLP endpoint as the services' when one is set.</summary>
public static class Telemetry
{
    /// <summary>A tracer provider when OTEL_EXPORTER_OTLP_ENDPOINT is set (eng/run.sh points it at the dashboard), else null.</summary>
    public static TracerProvider? Start()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"))) return null;
        return Sdk.CreateTracerProviderBuilder()
            .ConfigureResource(r => r.AddService(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") ?? "fg"))
            .AddSource(ExperimentRunner.Source.Name)
            .AddGrpcClientInstrumentation()
            .AddHttpClientInstrumentation()
            .AddOtlpExporter()
            .Build();
    }
}
