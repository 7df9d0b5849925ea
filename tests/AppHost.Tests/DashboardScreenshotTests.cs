using Aspire.Hosting;
using Aspire.Hosting.Testing;
using FunctionGemma.Core;
using FunctionGemma.Experiments;
using FunctionGemma.Model;
using FunctionGemma.TestSupport;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace FunctionGemma.AppHost.Tests;

/// <summary>
/// The system as a person sees it: the AppHost with its dashboard (services exporting to it, as in ./eng/run.sh),
/// a small experiment, and the dashboard's trace page opened in headless Chromium.
/// </summary>
public sealed class DashboardSystem : IAsyncLifetime
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("fg-dashboard-test-").FullName;

    public DistributedApplication App { get; private set; } = null!;
    public string DashboardUrl { get; private set; } = "";

    /// <summary>The dashboard's OTLP/gRPC endpoint, where the test exports the coordinator's spans like fg does.</summary>
    public Uri OtlpEndpoint { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
        [
            "Redis:Mode=executable", $"Platform:DataDir={_dataDir}",
            $"ASPNETCORE_URLS=http://127.0.0.1:{Loopback.FreePort()}", $"ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://127.0.0.1:{Loopback.FreePort()}",
            "ASPIRE_ALLOW_UNSECURED_TRANSPORT=true", "ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true",
        ], (options, _) => options.DisableDashboard = false, cts.Token);
        builder.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning).AddFilter("AppHost.Resources", LogLevel.Warning));
        App = await builder.BuildAsync(cts.Token);
        await App.StartAsync(cts.Token);
        foreach (var name in RunningSystem.Services)
            await App.ResourceNotifications.WaitForResourceHealthyAsync(name, cts.Token);
        DashboardUrl = App.GetEndpoint("aspire-dashboard", "http").ToString().TrimEnd('/');
        OtlpEndpoint = App.GetEndpoint("aspire-dashboard", "otlp-grpc");
    }

    public async ValueTask DisposeAsync()
    {
        if (App is not null) await App.DisposeAsync();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }
}

public sealed class DashboardScreenshotTests(DashboardSystem system) : IClassFixture<DashboardSystem>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task The_dashboard_shows_one_experiment_trace_across_all_four_services()
    {
        Assert.SkipUnless(File.Exists(Chromium), "Debian's chromium is not installed (eng/test.sh installs it).");

        // A small experiment, so the trace has spans from every service.
        var quickstart = ExperimentSpecLoader.LoadFile(Path.Combine(RepoPaths.Root(), "samples", "quickstart.yaml"));
        var spec = quickstart with
        {
            Name = "dashboard-shot",
            Train = quickstart.Train with { MaxSteps = 2, CheckpointEvery = 2, EvalEvery = 2, LogEvery = 1 },
            Evaluation = quickstart.Evaluation with { N = 4, MaxNewTokens = 4 },
        };
        var work = Directory.CreateTempSubdirectory("fg-dashboard-").FullName;
        var channels = RunningSystem.Services.ToDictionary(s => s, s => GrpcChannel.ForAddress(system.App.GetEndpoint(s, "grpc")));
        var runner = new ExperimentRunner(ServiceClients.From(s => channels[s]), new ExperimentJournal(work), new RandomInitFactory(), work);
        ExperimentOutcome outcome;
        // The coordinator's spans go to the dashboard, as fg's do under ./eng/run.sh.
        using (var tracing = Sdk.CreateTracerProviderBuilder()
            .ConfigureResource(r => r.AddService("fg"))
            .AddSource(ExperimentRunner.Source.Name)
            // gRPC client spans only: the test host's own HTTP traffic (health probes) would crowd the traces page.
            .AddGrpcClientInstrumentation()
            .AddOtlpExporter(o => o.Endpoint = system.OtlpEndpoint)
            .Build())
        {
            outcome = await runner.RunAsync(spec, "dashboard-shot", null, Ct);
            tracing.ForceFlush();
        }
        var traceId = outcome.Record.TraceId!.Split('-')[1];

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // The machine has no network beyond loopback: keep Chromium from reaching out.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 2200, Height = 1100 } });

        // Spans reach the dashboard in batches: reload the traces page until the experiment's trace lists every service.
        string[] services = ["fg", "dataprep", "trainer", "evaluator", "registry"];
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var row = "";
        while (DateTime.UtcNow < deadline)
        {
            await page.GotoAsync($"{system.DashboardUrl}/traces", new PageGotoOptions { WaitUntil = WaitUntilState.NetworkIdle });
            await page.WaitForTimeoutAsync(1000);
            await page.Locator("input[placeholder='Filter...']").First.FillAsync("dashboard-shot");
            await page.WaitForTimeoutAsync(1000);
            var rows = page.Locator("[role=row]").Filter(new LocatorFilterOptions { HasText = "experiment dashboard-shot" });
            row = await rows.CountAsync() > 0 ? await rows.First.InnerTextAsync() : "";
            if (services.All(row.Contains)) break;
            await Task.Delay(1000, Ct);
        }
        var list = await Screenshot(page, "dashboard-traces.png");
        foreach (var s in services) Assert.Contains(s, row);

        await page.GotoAsync($"{system.DashboardUrl}/traces/detail/{traceId}", new PageGotoOptions { WaitUntil = WaitUntilState.NetworkIdle });
        await page.WaitForTimeoutAsync(1500);
        await Screenshot(page, "dashboard-experiment-trace.png");
        Assert.Contains("experiment dashboard-shot", await page.InnerTextAsync("body"));
    }

    /// <summary>Saves a screenshot under the test output's screenshots/ folder and attaches it to the test result.</summary>
    private static async Task<string> Screenshot(IPage page, string name)
    {
        var shots = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(shots);
        var file = Path.Combine(shots, name);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file });
        TestContext.Current.AddAttachment(name, File.ReadAllBytes(file), "image/png");
        return file;
    }
}
