using Google.Protobuf;
using StackExchange.Redis;

namespace FunctionGemma.Storage;

/// <summary>
/// Protobuf records kept as JSON strings under one key each, with a sorted-set index by creation time.
/// Runs, reports and model versions are stored this way.
/// </summary>
public sealed class JsonRecordStore<T>(IConnectionMultiplexer redis, RedisKey index, Func<string, RedisKey> keyOf, string kind)
    where T : IMessage<T>, new()
{
    /// <summary>The record, or null.</summary>
    public async Task<T?> FindAsync(string id, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ct.ThrowIfCancellationRequested();
        var json = await redis.GetDatabase().StringGetAsync(keyOf(id));
        return json.IsNullOrEmpty ? default : ProtoJson.Read<T>(json!);
    }

    /// <summary>The record; <see cref="KeyNotFoundException"/> naming it otherwise.</summary>
    public async Task<T> GetAsync(string id, CancellationToken ct = default) =>
        await FindAsync(id, ct) ?? throw new KeyNotFoundException($"No {kind} '{id}'. List them with the List call (or `fg {kind}s`).");

    /// <summary>Creates the record only if absent; returns whether it was created (false = it already existed).</summary>
    public async Task<bool> TryCreateAsync(string id, T record, DateTimeOffset created, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var db = redis.GetDatabase();
        var tx = db.CreateTransaction();
        tx.AddCondition(Condition.KeyNotExists(keyOf(id)));
        _ = tx.StringSetAsync(keyOf(id), ProtoJson.Write(record));
        _ = tx.SortedSetAddAsync(index, id, created.ToUnixTimeMilliseconds());
        return await tx.ExecuteAsync();
    }

    /// <summary>Writes the record (create or replace) and indexes it.</summary>
    public async Task PutAsync(string id, T record, DateTimeOffset created, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var db = redis.GetDatabase();
        var tx = db.CreateTransaction();
        _ = tx.StringSetAsync(keyOf(id), ProtoJson.Write(record));
        _ = tx.SortedSetAddAsync(index, id, created.ToUnixTimeMilliseconds());
        await tx.ExecuteAsync();
    }

    /// <summary>Newest first.</summary>
    public async Task<IReadOnlyList<T>> ListAsync(int limit, CancellationToken ct = default)
    {
        var ids = await redis.GetDatabase().SortedSetRangeByRankAsync(index, 0, limit <= 0 ? -1 : limit - 1, Order.Descending);
        var records = new List<T>(ids.Length);
        foreach (var id in ids)
            if (await FindAsync(id!, ct) is { } r) records.Add(r);
        return records;
    }
}

/// <summary>The platform's record stores over one Redis connection.</summary>
public static class RecordStores
{
    /// <summary>Training runs.</summary>
    public static JsonRecordStore<Protos.RunInfo> Runs(IConnectionMultiplexer redis) => new(redis, RedisKeys.RunIndex, RedisKeys.Run, "run");

    /// <summary>Evaluation reports.</summary>
    public static JsonRecordStore<Protos.EvalReport> Reports(IConnectionMultiplexer redis) => new(redis, RedisKeys.ReportIndex, RedisKeys.Report, "report");

    /// <summary>Model versions.</summary>
    public static JsonRecordStore<Protos.ModelVersion> Models(IConnectionMultiplexer redis) => new(redis, RedisKeys.ModelIndex, RedisKeys.Model, "model");
}
