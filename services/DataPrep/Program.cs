using FunctionGemma.DataPrep;
using FunctionGemma.Storage;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddRedisClient("redis");
builder.Services.AddPlatformGrpc();
builder.Services.AddSingleton<DatasetCatalog>();

var app = builder.Build();
app.MapGrpcService<DataPrepService>();
app.MapDefaultEndpoints();
app.Run();
