using System.Diagnostics;
using StackExchange.Redis;

namespace FunctionGemma.TestSupport;

/// <summary>A real redis-server on a free loopback port with a throwaway --dir; killed on dispose.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly Process _process;

    private RedisServer(Process process, string dir, int port, ConnectionMultiplexer connection)
    {
        _process = process;
        DataDirectory = dir;
        Port = port;
        Connection = connection;
    }

    /// <summary>The server's --dir (where SAVE writes dump.rdb).</summary>
    public string DataDirectory { get; }

    /// <summary>The loopback port it listens on.</summary>
    public int Port { get; }

    /// <summary>host:port for StackExchange.Redis and the services' ConnectionStrings:redis.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>An open admin connection.</summary>
    public ConnectionMultiplexer Connection { get; }

    /// <summary>The server, for INFO, FLUSHALL, SAVE.</summary>
    public IServer Server => Connection.GetServer(Connection.GetEndPoints()[0]);

    /// <summary>Starts redis-server (FG_REDIS_SERVER, else /usr/bin/redis-server, else PATH) and waits until it answers.</summary>
    public static async Task<RedisServer> StartAsync()
    {
        var binary = Environment.GetEnvironmentVariable("FG_REDIS_SERVER")
                     ?? (File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server");
        var dir = Directory.CreateTempSubdirectory("fg-redis-").FullName;
        var port = Loopback.FreePort();
        var process = Process.Start(new ProcessStartInfo(binary)
        {
            ArgumentList = { "--port", port.ToString(), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"Could not start {binary}: install redis-server (apt-get install redis-server).");
        // Drain its output so a chatty server never blocks on a full pipe.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},allowAdmin=true,abortConnect=true,connectTimeout=1000");
                return new RedisServer(process, dir, port, connection);
            }
            catch (RedisConnectionException) when (attempt < 50 && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        if (!_process.HasExited) { _process.Kill(); await _process.WaitForExitAsync(); }
        _process.Dispose();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}
