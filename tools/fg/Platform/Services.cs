using FunctionGemma.Experiments;
using Grpc.Net.Client;

namespace FunctionGemma.Cli.Platform;

/// <summary>
/// Where the services are: the same configuration keys Aspire gives its resources (services__NAME__grpc__0),
/// else the ports the services' appsettings.json expose when the AppHost runs them.
/// </summary>
public static class Services
{
    private static readonly Dictionary<string, string> Defaults = new()
    {
        ["dataprep"] = "http://localhost:5111",
        ["trainer"] = "http://localhost:5121",
        ["evaluator"] = "http://localhost:5131",
        ["registry"] = "http://localhost:5141",
    };

    /// <summary>The gRPC address of a service.</summary>
    public static Uri Address(string service)
    {
        var configured = Environment.GetEnvironmentVariable($"services__{service}__grpc__0");
        var text = string.IsNullOrWhiteSpace(configured) ? Defaults[service] : configured;
        return Uri.TryCreate(text, UriKind.Absolute, out var uri)
            ? uri
            : throw new ArgumentException($"services__{service}__grpc__0='{text}' is not an absolute URL such as http://localhost:5111.");
    }

    /// <summary>Clients for the four services over HTTP/2 without TLS.</summary>
    public static ServiceClients Connect() => ServiceClients.From(name => GrpcChannel.ForAddress(Address(name), new GrpcChannelOptions
    {
        MaxReceiveMessageSize = 16 * 1024 * 1024,
    }));

    /// <summary>Where fg keeps its own state (experiment journal, random-init models): FG_HOME, else .fg in the repository.</summary>
    public static string Home()
    {
        var home = Environment.GetEnvironmentVariable("FG_HOME");
        if (!string.IsNullOrWhiteSpace(home)) return Path.GetFullPath(home);
        try { return Path.Combine(Core.RepoPaths.Root(Environment.CurrentDirectory), ".fg"); }
        catch (DirectoryNotFoundException) { return Path.Combine(Environment.CurrentDirectory, ".fg"); }
    }
}
