using System.Diagnostics;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace FunctionGemma.AppHost;

/// <summary>A real redis-server run as a plain executable, for machines with no container runtime.</summary>
public sealed class RedisServerResource(string name, string workingDirectory)
    : ExecutableResource(name, "redis-server", workingDirectory), IResourceWithConnectionString
{
    internal const string EndpointName = "tcp";

    /// <summary>The port DCP allocated for redis-server.</summary>
    public EndpointReference PrimaryEndpoint => new(this, EndpointName);

    /// <summary>host:port, the form StackExchange.Redis and Aspire's Redis client read.</summary>
    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{PrimaryEndpoint.Property(EndpointProperty.HostAndPort)}");
}

/// <summary>Chooses how Redis runs: a container where a container runtime answers, otherwise the redis-server binary.</summary>
public static class RedisServerExtensions
{
    /// <summary>
    /// Adds Redis named <paramref name="name"/>. Configuration <c>Redis:Mode</c> = auto (default) | container | executable;
    /// <c>Redis:DataDir</c> = where the executable keeps its AOF files (default <paramref name="defaultDataDir"/>).
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddPlatformRedis(this IDistributedApplicationBuilder builder, string name, string defaultDataDir)
    {
        var mode = builder.Configuration["Redis:Mode"] is { Length: > 0 } m ? m.ToLowerInvariant() : "auto";
        var useContainer = mode switch
        {
            "container" => true,
            "executable" => false,
            "auto" => ContainerRuntimeAnswers(),
            _ => throw new ArgumentException($"Redis:Mode '{mode}' is not one of auto, container, executable."),
        };
        var reason = mode == "auto" ? (useContainer ? "a container runtime answered" : "no container runtime answered") : $"Redis:Mode={mode}";
        builder.Eventing.Subscribe<BeforeStartEvent>((e, _) =>
        {
            e.Services.GetRequiredService<ILoggerFactory>().CreateLogger("FunctionGemma.AppHost")
                .LogInformation("Redis runs as {Kind} ({Reason})", useContainer ? "a container" : "the redis-server executable", reason);
            return Task.CompletedTask;
        });

        if (useContainer) return builder.AddRedis(name);

        var dataDir = builder.Configuration["Redis:DataDir"] is { Length: > 0 } d ? Path.GetFullPath(d) : defaultDataDir;
        Directory.CreateDirectory(dataDir);
        if (!RedisServerInstalled())
            throw new InvalidOperationException("redis-server is not on PATH and no container runtime is used. Install it (apt-get install redis-server) or set Redis:Mode=container.");

        var redis = new RedisServerResource(name, dataDir);
        var healthCheck = $"{name}-ping";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheck, _ => new RedisPingCheck(redis), failureStatus: null, tags: null));

        return builder.AddResource(redis)
            .WithEndpoint(name: RedisServerResource.EndpointName, scheme: "tcp")
            .WithArgs(ctx =>
            {
                ctx.Args.Add("--port");
                ctx.Args.Add(redis.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
                ctx.Args.Add("--bind");
                ctx.Args.Add("127.0.0.1");
                ctx.Args.Add("--dir");
                ctx.Args.Add(dataDir);
                // Every write is logged (AOF) so datasets and runs survive a restart of the AppHost.
                ctx.Args.Add("--appendonly");
                ctx.Args.Add("yes");
                ctx.Args.Add("--save");
                ctx.Args.Add("");
                ctx.Args.Add("--protected-mode");
                ctx.Args.Add("yes");
            })
            .WithHealthCheck(healthCheck);
    }

    private static bool ContainerRuntimeAnswers()
    {
        // A docker CLI on PATH proves nothing; listing containers is the same daemon check DCP makes.
        try
        {
            using var p = Process.Start(new ProcessStartInfo("docker", "container ls -n 1")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            });
            if (p is null) return false;
            if (!p.WaitForExit(TimeSpan.FromSeconds(5))) { p.Kill(true); return false; }
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    private static bool RedisServerInstalled() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, "redis-server")));

    /// <summary>Healthy once redis-server answers PING (and has loaded its AOF).</summary>
    private sealed class RedisPingCheck(RedisServerResource redis) : IHealthCheck, IDisposable
    {
        private ConnectionMultiplexer? _connection;

        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
        {
            try
            {
                if (_connection is null)
                {
                    var endpoint = await redis.ConnectionStringExpression.GetValueAsync(ct);
                    _connection = await ConnectionMultiplexer.ConnectAsync($"{endpoint},abortConnect=false,connectTimeout=2000");
                }
                await _connection.GetDatabase().PingAsync();
                return HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is RedisException or TimeoutException or InvalidOperationException)
            {
                return HealthCheckResult.Unhealthy(e.Message);
            }
        }

        public void Dispose() => _connection?.Dispose();
    }
}
