namespace FunctionGemma.DataPrep;

/// <summary>DataPrep settings (configuration section "DataPrep"; HF_TOKEN and HF_ENDPOINT are read as the Hub tools read them).</summary>
public sealed class DataPrepOptions
{
    /// <summary>Where downloads and the extracted sample are cached (keyed by revision).</summary>
    public string CacheDir { get; set; } = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "functiongemma");

    /// <summary>The Hub's base address.</summary>
    public string HubEndpoint { get; set; } = "https://huggingface.co";

    /// <summary>Bearer token for the Hub; none when empty.</summary>
    public string? HfToken { get; set; }

    /// <summary>How long a prepare lock lives without renewal (a crashed writer's lock expires after this).</summary>
    public TimeSpan LockTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Rows per pipelined XADD batch (and per progress event while writing).</summary>
    public int WriteBatchSize { get; set; } = 256;
}
