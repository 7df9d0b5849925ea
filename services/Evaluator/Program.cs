using FunctionGemma.Evaluator;
using FunctionGemma.Storage;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddRedisClient("redis");
builder.Services.AddPlatformGrpc();
builder.Services.AddSingleton(sp => RecordStores.Reports(sp.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>()));

var app = builder.Build();
app.MapGrpcService<EvaluatorService>();
app.MapDefaultEndpoints();
app.Run();
