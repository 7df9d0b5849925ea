using FunctionGemma.Registry.Hub;
using FunctionGemma.Registry.Store;
using Microsoft.Extensions.Options;

namespace FunctionGemma.Registry;

/// <summary>The Registry host, built here so tests and benchmarks start exactly what Program runs.</summary>
public static class RegistryApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        builder.AddRedisClient("redis");
        builder.Services.AddPlatformGrpc();
        builder.Services.Configure<RegistryOptions>(builder.Configuration.GetSection(RegistryOptions.Section));
        builder.Services.Configure<HubOptions>(builder.Configuration.GetSection(HubOptions.Section));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new BlobStore(sp.GetRequiredService<IOptions<RegistryOptions>>().Value
            .ResolveRoot(sp.GetRequiredService<IHostEnvironment>().ContentRootPath)));
        builder.Services.AddSingleton<ModelRegistry>();
        builder.Services.AddSingleton<HubPublisher>();
        // Uploads of multi-GB weights run long: no total timeout, and no retries that would resend a consumed stream.
        builder.Services.AddHttpClient(HubPublisher.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);

        var app = builder.Build();
        app.MapGrpcService<RegistryService>();
        app.MapHubCompatibleApi();
        app.MapDefaultEndpoints();
        return app;
    }
}
