using FunctionGemma.Storage;
using FunctionGemma.Trainer;
using FunctionGemma.Registry.Client;
using FunctionGemma.Trainer.Runs;

// Verbs besides the service: a worker rank (started by the supervisor), a local run, a random model.
switch (args.FirstOrDefault())
{
    case "worker": return await WorkerProgram.RunAsync(args[1..]);
    case "train": return await LocalCommands.TrainAsync(LocalCommands.ParseArgs(args[1..]));
    case "random-model": return LocalCommands.RandomModel(LocalCommands.ParseArgs(args[1..]));
}

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddRedisClient("redis");
builder.Services.AddPlatformGrpc();
builder.Services.AddPlatformGrpcClient<FunctionGemma.Protos.DataPrep.DataPrepClient>("dataprep");
// Registry versions and aliases of base models are pulled through the Registry's gRPC API into the model cache.
builder.Services.AddPlatformGrpcClient<FunctionGemma.Protos.Registry.RegistryClient>("registry");
builder.Services.AddSingleton(sp => RecordStores.Runs(sp.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>()));
builder.Services.Configure<TrainerOptions>(builder.Configuration.GetSection("Trainer"));
builder.Services.PostConfigure<TrainerOptions>(o =>
{
    if (string.IsNullOrEmpty(o.Redis)) o.Redis = builder.Configuration.GetConnectionString("redis") ?? "";
});
builder.Services.AddSingleton<IModelResolver>(sp =>
{
    var options = sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<TrainerOptions>>();
    var registry = sp.GetRequiredService<FunctionGemma.Protos.Registry.RegistryClient>();
    return new ModelResolver(options, (model, ct) => registry.ResolveToDirectoryAsync(model, options.Value.ModelCacheRoot(), ct));
});
builder.Services.AddSingleton<RunSupervisor>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<RunSupervisor>());

var app = builder.Build();
app.MapGrpcService<TrainerService>();
app.MapDefaultEndpoints();
app.Run();
return 0;
