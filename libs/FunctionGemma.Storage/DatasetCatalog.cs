using FunctionGemma.Protos;
using StackExchange.Redis;

namespace FunctionGemma.Storage;

/// <summary>Reads complete dataset versions (their manifests) from Redis.</summary>
public sealed class DatasetCatalog(IConnectionMultiplexer redis)
{
    /// <summary>Hash field holding the manifest as protobuf JSON; the other fields mirror it for redis-cli readers.</summary>
    public const string ManifestField = "manifest";

    /// <summary>The manifest of a complete version, or null when the version is absent or incomplete.</summary>
    public async Task<DatasetManifest?> FindAsync(string version, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        ct.ThrowIfCancellationRequested();
        var json = await redis.GetDatabase().HashGetAsync(RedisKeys.DatasetManifest(version), ManifestField);
        return json.IsNullOrEmpty ? null : ProtoJson.Read<DatasetManifest>(json!);
    }

    /// <summary>The manifest of a complete version; <see cref="KeyNotFoundException"/> naming the version otherwise.</summary>
    public async Task<DatasetManifest> GetAsync(string version, CancellationToken ct = default) =>
        await FindAsync(version, ct) ?? throw new KeyNotFoundException(
            $"Dataset version '{version}' does not exist or is incomplete. Run PrepareDataset (fg run / fg data) to create it.");

    /// <summary>The newest complete versions first.</summary>
    public async Task<IReadOnlyList<DatasetManifest>> ListAsync(int limit, CancellationToken ct = default)
    {
        var versions = await redis.GetDatabase().SortedSetRangeByRankAsync(RedisKeys.DatasetIndex, 0, limit <= 0 ? -1 : limit - 1, Order.Descending);
        var manifests = new List<DatasetManifest>(versions.Length);
        foreach (var v in versions)
            if (await FindAsync(v!, ct) is { } m) manifests.Add(m);
        return manifests;
    }
}
