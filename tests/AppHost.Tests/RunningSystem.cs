using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

// One running system for the whole assembly: starting it costs ~20 s and two at once would crowd 2 cores.
[assembly: AssemblyFixture(typeof(FunctionGemma.AppHost.Tests.RunningSystem))]

namespace FunctionGemma.AppHost.Tests;

/// <summary>
/// The whole AppHost (redis-server executable + four services) started once, exporting
/// its traces to a test OTLP collector, shared by every test of the assembly.
/// </summary>
public sealed class RunningSystem : IAsyncLifetime
{
    public static readonly string[] Services = ["dataprep", "trainer", "evaluator", "registry"];

    private readonly string _dataDir = Directory.CreateTempSubdirectory("fg-apphost-test-").FullName;
    private readonly Dictionary<string, GrpcChannel> _channels = [];

    public DistributedApplication App { get; private set; } = null!;

    /// <summary>The system's Platform:DataDir.</summary>
    public string DataDir => _dataDir;
    public OtlpCollector Collector { get; private set; } = null!;
    public IConnectionMultiplexer Redis { get; private set; } = null!;

    public GrpcChannel Channel(string service) => _channels[service];

    public async ValueTask InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        Collector = await OtlpCollector.StartAsync();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["Redis:Mode=executable", $"Platform:DataDir={_dataDir}", "--environment=Testing"], cts.Token);
        // Resource console logs are forwarded to the test output: keep only problems.
        builder.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning).AddFilter("AppHost.Resources", LogLevel.Warning));
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            // Later environment callbacks win: send telemetry to the test collector, exported quickly.
            builder.CreateResourceBuilder(project).WithEnvironment(ctx =>
            {
                ctx.EnvironmentVariables["OTEL_EXPORTER_OTLP_ENDPOINT"] = Collector.Endpoint;
                ctx.EnvironmentVariables["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
                ctx.EnvironmentVariables["OTEL_BSP_SCHEDULE_DELAY"] = "200";
                ctx.EnvironmentVariables["OTEL_TRACES_SAMPLER"] = "always_on";
            });
        }

        App = await builder.BuildAsync(cts.Token);
        await App.StartAsync(cts.Token);
        foreach (var name in Services.Prepend("redis"))
            await App.ResourceNotifications.WaitForResourceHealthyAsync(name, cts.Token);

        Redis = await ConnectionMultiplexer.ConnectAsync((await App.GetConnectionStringAsync("redis", cts.Token))!);
        foreach (var name in Services)
            _channels[name] = GrpcChannel.ForAddress(App.GetEndpoint(name, "grpc"));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _channels.Values) c.Dispose();
        Redis?.Dispose();
        if (App is not null) await App.DisposeAsync();
        if (Collector is not null) await Collector.DisposeAsync();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }
}
