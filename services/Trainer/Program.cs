using FunctionGemma.Storage;
using FunctionGemma.Trainer;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddRedisClient("redis");
builder.Services.AddPlatformGrpc();
builder.Services.AddPlatformGrpcClient<FunctionGemma.Protos.DataPrep.DataPrepClient>("dataprep");
builder.Services.AddSingleton(sp => RecordStores.Runs(sp.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>()));

var app = builder.Build();
app.MapGrpcService<TrainerService>();
app.MapDefaultEndpoints();
app.Run();
