using FunctionGemma.Evaluator.Evaluation;
using FunctionGemma.Storage;
using StackExchange.Redis;

namespace FunctionGemma.Evaluator;

/// <summary>The Evaluator host, built here so tests and benchmarks start exactly what Program runs.</summary>
public static class EvaluatorApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        builder.AddRedisClient("redis");
        builder.Services.AddPlatformGrpc();
        // Registry versions and aliases are pulled through the Registry's gRPC API.
        builder.Services.AddPlatformGrpcClient<Protos.Registry.RegistryClient>("registry");
        builder.Services.Configure<EvaluatorOptions>(builder.Configuration.GetSection(EvaluatorOptions.Section));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => RecordStores.Reports(sp.GetRequiredService<IConnectionMultiplexer>()));
        builder.Services.AddSingleton(sp => RecordStores.Runs(sp.GetRequiredService<IConnectionMultiplexer>()));
        builder.Services.AddSingleton<DatasetCatalog>();
        builder.Services.AddSingleton<DatasetRows>();
        builder.Services.AddSingleton<ModelResolver>();
        builder.Services.AddSingleton<ModelHost>();
        builder.Services.AddSingleton<EvalRunner>();

        var app = builder.Build();
        app.MapGrpcService<EvaluatorService>();
        app.MapDefaultEndpoints();
        return app;
    }
}
