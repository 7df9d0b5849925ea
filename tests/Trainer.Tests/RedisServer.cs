using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace FunctionGemma.Trainer.Tests;

/// <summary>A real redis-server on a free loopback port with its own temporary --dir, stopped on dispose.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    readonly Process _process;
    readonly string _dir;

    RedisServer(Process process, string dir, int port, ConnectionMultiplexer connection)
    {
        _process = process; _dir = dir; Port = port; Connection = connection;
    }

    /// <summary>The server's --dir (where SAVE writes dump.rdb).</summary>
    public string DataDirectory => _dir;

    /// <summary>The port.</summary>
    public int Port { get; }

    /// <summary>A connection string for it.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>An open connection.</summary>
    public ConnectionMultiplexer Connection { get; }

    public static async Task<RedisServer> StartAsync()
    {
        var exe = Environment.GetEnvironmentVariable("FG_REDIS_SERVER") ?? "/usr/bin/redis-server";
        var dir = Directory.CreateTempSubdirectory("fg-trainer-redis-").FullName;
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no" })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        _ = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        for (int i = 0; ; i++)
        {
            try
            {
                var c = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},abortConnect=true,connectTimeout=500,allowAdmin=true");
                return new RedisServer(p, dir, port, c);
            }
            catch (RedisConnectionException) when (i < 50) { await Task.Delay(100); }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        try { _process.Kill(); await _process.WaitForExitAsync(); } catch (InvalidOperationException) { }
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
