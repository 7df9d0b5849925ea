namespace FunctionGemma.Registry;

/// <summary>Configuration section "Registry".</summary>
public sealed class RegistryOptions
{
    public const string Section = "Registry";

    /// <summary>Blob root; default .fg/registry in the repository (or the working directory outside one).</summary>
    public string? Root { get; set; }

    /// <summary>
    /// Bytes per PullModel chunk. The default keeps each message (data plus path and manifest entry) under gRPC's
    /// default 4 MiB receive limit, so a client with stock channel options can pull; larger chunks gain little.
    /// </summary>
    public int ChunkBytes { get; set; } = 4 * 1024 * 1024 - 64 * 1024;

    /// <summary>
    /// Folders RegisterDirectory may read (absolute paths; e.g. the Trainer's checkpoint root on shared storage).
    /// Empty: any folder the Registry process can read.
    /// </summary>
    public List<string> ImportRoots { get; set; } = [];

    public string ResolveRoot(string contentRoot)
    {
        if (!string.IsNullOrWhiteSpace(Root)) return Path.GetFullPath(Root, contentRoot);
        for (var dir = new DirectoryInfo(contentRoot); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FunctionGemma.Aspire.sln"))) return Path.Combine(dir.FullName, ".fg", "registry");
        return Path.Combine(contentRoot, ".fg", "registry");
    }
}

/// <summary>Configuration section "HuggingFace": where PublishToHub goes and with which token (or HF_TOKEN).</summary>
public sealed class HubOptions
{
    public const string Section = "HuggingFace";

    public string Endpoint { get; set; } = "https://huggingface.co";

    /// <summary>A write token; never logged. Falls back to the HF_TOKEN environment variable.</summary>
    public string? Token { get; set; }
}
