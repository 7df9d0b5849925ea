using FunctionGemma.Protos;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace FunctionGemma.DataPrep.Tests;

/// <summary>
/// A real redis-server, the fake Hub, and the DataPrep service itself (its own DataPrepApp on Kestrel, HTTP/2 on a
/// loopback port), with a gRPC client. One per test class.
/// </summary>
public sealed class DataPrepHost : IAsyncLifetime
{
    private WebApplication? _app;

    public RedisServer Redis { get; private set; } = null!;

    public FakeHub Hub { get; private set; } = null!;

    public string CacheDir { get; } = Directory.CreateTempSubdirectory("fg-dataprep-cache-").FullName;

    public GrpcChannel Channel { get; private set; } = null!;

    public Protos.DataPrep.DataPrepClient Client { get; private set; } = null!;

    public IServiceProvider Services => _app!.Services;

    public IDatabase Db => Redis.Connection.GetDatabase();

    public async ValueTask InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        Hub = await FakeHub.StartAsync(await SampleData.SampleParquetBytesAsync(), token: "hf_test_token");
        int grpcPort = Loopback.FreePort(), httpPort = Loopback.FreePort();
        _app = DataPrepApp.Create(
        [
            $"--ConnectionStrings:redis={Redis.ConnectionString}",
            $"--Kestrel:Endpoints:grpc:Url=http://127.0.0.1:{grpcPort}",
            "--Kestrel:Endpoints:grpc:Protocols=Http2",
            $"--Kestrel:Endpoints:http:Url=http://127.0.0.1:{httpPort}",
            "--Kestrel:Endpoints:http:Protocols=Http1",
            $"--DataPrep:CacheDir={CacheDir}",
            $"--DataPrep:HubEndpoint={Hub.Endpoint}",
            $"--DataPrep:HfToken={Hub.Token}",
            "--DataPrep:WriteBatchSize=16",
            "--DataPrep:LockTtl=00:00:05",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await _app.StartAsync();
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        Client = new Protos.DataPrep.DataPrepClient(Channel);
    }

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    public async Task FlushAsync() => await Redis.Server.FlushAllDatabasesAsync();

    public async ValueTask DisposeAsync()
    {
        Channel?.Dispose();
        if (_app is not null) { await _app.StopAsync(); await _app.DisposeAsync(); }
        if (Hub is not null) await Hub.DisposeAsync();
        if (Redis is not null) await Redis.DisposeAsync();
        try { Directory.Delete(CacheDir, recursive: true); } catch (IOException) { }
    }
}
