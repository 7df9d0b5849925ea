using FunctionGemma.DataPrep.Sources;
using FunctionGemma.Storage;

namespace FunctionGemma.DataPrep;

/// <summary>The DataPrep host, built in one place so tests start the same app on real Kestrel.</summary>
public static class DataPrepApp
{
    /// <summary>Builds the app; <paramref name="args"/> are command-line configuration (e.g. <c>--ConnectionStrings:redis=...</c>).</summary>
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddServiceDefaults();
        builder.AddRedisClient("redis");
        builder.Services.AddPlatformGrpc();
        builder.Services.AddOptions<DataPrepOptions>().BindConfiguration("DataPrep").PostConfigure<IConfiguration>((o, config) =>
        {
            // The Hub tools' own variables, when the section does not set them.
            o.HfToken ??= config["HF_TOKEN"];
            if (config["HF_ENDPOINT"] is { Length: > 0 } endpoint && config["DataPrep:HubEndpoint"] is null) o.HubEndpoint = endpoint;
        });
        // Downloads are long: no total timeout; HuggingFaceHub retries and resumes on its own.
        builder.Services.AddHttpClient(HermesSources.HubClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<DataPrepMetrics>();
        builder.Services.AddSingleton<HermesSources>();
        builder.Services.AddSingleton<DatasetPreparer>();
        builder.Services.AddSingleton<DatasetCatalog>();
        builder.Services.AddSingleton<DatasetRows>();

        var app = builder.Build();
        app.MapGrpcService<DataPrepService>();
        app.MapDefaultEndpoints();
        return app;
    }
}
