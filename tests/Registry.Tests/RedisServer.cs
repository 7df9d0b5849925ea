using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace FunctionGemma.Registry.Tests;

/// <summary>A real redis-server on a free loopback port with a throw-away data directory.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly Process process;
    private readonly string dir;

    private RedisServer(Process process, string dir, int port)
    {
        this.process = process;
        this.dir = dir;
        Port = port;
    }

    public int Port { get; }
    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var dir = Directory.CreateTempSubdirectory("fg-redis-").FullName;
        var port = FreePort();
        var process = Process.Start(new ProcessStartInfo("/usr/bin/redis-server",
            ["--port", port.ToString(), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"])
        {
            RedirectStandardOutput = true,
        })!;
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        var server = new RedisServer(process, dir, port);
        for (var i = 0; i < 100; i++)
        {
            try
            {
                await using var mux = await ConnectionMultiplexer.ConnectAsync($"{server.ConnectionString},connectTimeout=500");
                await mux.GetDatabase().PingAsync();
                return server;
            }
            catch (RedisConnectionException) { await Task.Delay(50); }
        }
        await server.DisposeAsync();
        throw new InvalidOperationException($"redis-server did not answer on port {port}.");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited) process.Kill();
        await process.WaitForExitAsync();
        process.Dispose();
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }
}
