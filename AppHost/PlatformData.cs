using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;

namespace FunctionGemma.AppHost;

/// <summary>The folders of one running platform, all under <see cref="Root"/>.</summary>
public sealed record PlatformDataDir(string Root)
{
    /// <summary>redis-server's AOF files.</summary>
    public string Redis => Path.Combine(Root, "redis");
    /// <summary>The Registry's content-addressed blobs.</summary>
    public string Registry => Path.Combine(Root, "registry");
    /// <summary>Training runs: checkpoints and worker logs.</summary>
    public string Runs => Path.Combine(Root, "runs");
    /// <summary>Downloaded Hub datasets, keyed by commit sha.</summary>
    public string DatasetCache => Path.Combine(Root, "cache", "datasets");
    /// <summary>Models a service pulled from the Registry.</summary>
    public string ModelCache(string service) => Path.Combine(Root, "cache", service, "models");
}

/// <summary>Platform-wide settings applied to the resources.</summary>
public static class PlatformDataExtensions
{
    /// <summary>Platform:DataDir, default .fg beside the AppHost folder (the repository root).</summary>
    public static PlatformDataDir AddPlatformDataDir(this IDistributedApplicationBuilder builder)
    {
        var configured = builder.Configuration["Platform:DataDir"];
        var root = Path.GetFullPath(string.IsNullOrWhiteSpace(configured) ? Path.Combine(builder.AppHostDirectory, "..", ".fg") : configured);
        Directory.CreateDirectory(root);
        return new PlatformDataDir(root);
    }

    /// <summary>
    /// Passes HF_TOKEN (from the AppHost's configuration or environment) to a service as a secret parameter, so it
    /// is masked on the dashboard; nothing is passed when it is not set (public datasets need none).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithHubToken(this IResourceBuilder<ProjectResource> project, IDistributedApplicationBuilder builder)
    {
        var token = builder.Configuration["HF_TOKEN"];
        if (string.IsNullOrWhiteSpace(token)) return project;
        var parameter = builder.Resources.OfType<ParameterResource>().FirstOrDefault(p => p.Name == "hf-token") is { } existing
            ? builder.CreateResourceBuilder(existing)
            : builder.AddParameter("hf-token", token, secret: true);
        return project.WithEnvironment("HF_TOKEN", parameter);
    }
}
