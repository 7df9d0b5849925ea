using Microsoft.Extensions.Options;

namespace FunctionGemma.DataPrep.Sources;

/// <summary>Makes the source a <c>DatasetSpec.source</c> string names.</summary>
public sealed class HermesSources(IHttpClientFactory httpClients, IOptions<DataPrepOptions> options)
{
    /// <summary>The named HttpClient the Hub client uses.</summary>
    public const string HubClientName = "huggingface";

    /// <summary>The source for a spec string: <c>hf:OWNER/NAME[@REV]</c>, <c>parquet:PATH</c>, <c>jsonl:PATH</c> or <c>sample</c>.</summary>
    /// <exception cref="ArgumentException">The string names no known source, or its argument is missing.</exception>
    public IHermesSource Create(string spec)
    {
        var o = options.Value;
        if (string.IsNullOrWhiteSpace(spec))
            throw new ArgumentException("DatasetSpec.source is empty: use \"hf:OWNER/NAME[@REVISION]\", \"parquet:PATH\", \"jsonl:PATH\" or \"sample\".");
        spec = spec.Trim();
        if (spec == "sample") return new SampleSource(o.CacheDir);
        var colon = spec.IndexOf(':');
        var (kind, arg) = colon < 0 ? (spec, "") : (spec[..colon], spec[(colon + 1)..].Trim());
        if (colon >= 0 && arg.Length == 0)
            throw new ArgumentException($"DatasetSpec.source '{spec}' has nothing after '{kind}:'.");
        switch (kind)
        {
            case "parquet" or "jsonl":
                return new LocalFileSource(spec, kind, arg);
            case "hf":
                var at = arg.IndexOf('@');
                var (repo, revision) = at < 0 ? (arg, "main") : (arg[..at], arg[(at + 1)..]);
                if (revision.Length == 0) throw new ArgumentException($"DatasetSpec.source '{spec}' has an empty revision after '@'.");
                if (repo.Count(c => c == '/') != 1 || repo.StartsWith('/') || repo.EndsWith('/'))
                    throw new ArgumentException($"DatasetSpec.source '{spec}': '{repo}' is not OWNER/NAME.");
                var hub = new HuggingFaceHub(httpClients.CreateClient(HubClientName), new Uri(o.HubEndpoint.TrimEnd('/') + "/"), o.CacheDir, o.HfToken);
                return new HuggingFaceSource(spec, repo, revision, hub);
            default:
                throw new ArgumentException(
                    $"DatasetSpec.source '{spec}' is not a known source: use \"hf:OWNER/NAME[@REVISION]\", \"parquet:PATH\", \"jsonl:PATH\" or \"sample\".");
        }
    }
}
