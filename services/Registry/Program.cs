using FunctionGemma.Registry;
using FunctionGemma.Storage;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddRedisClient("redis");
builder.Services.AddPlatformGrpc();
builder.Services.AddSingleton(sp => RecordStores.Models(sp.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>()));

var app = builder.Build();
app.MapGrpcService<RegistryService>();
app.MapDefaultEndpoints();
app.Run();
