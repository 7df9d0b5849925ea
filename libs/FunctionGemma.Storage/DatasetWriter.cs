using FunctionGemma.Protos;
using StackExchange.Redis;

namespace FunctionGemma.Storage;

/// <summary>
/// Writes dataset versions: rows into one stream per split, then the manifest last and atomically. A version without a
/// manifest is incomplete; only the holder of the version's <see cref="DatasetLock"/> writes or deletes its streams.
/// </summary>
public sealed class DatasetWriter(IConnectionMultiplexer redis)
{
    /// <summary>Stream entry field holding the row JSON (<see cref="DatasetRow.ToJson"/>).</summary>
    public const string RowField = "row";

    /// <summary>Stream entry field holding the W3C traceparent of the span that wrote the row.</summary>
    public const string TraceparentField = "traceparent";

    /// <summary>Takes the version's lock if free; null when another writer holds it.</summary>
    public Task<DatasetLock?> TryLockAsync(string version, TimeSpan ttl, CancellationToken ct = default) =>
        DatasetLock.TryAcquireAsync(redis.GetDatabase(), RedisKeys.DatasetLock(version), ttl, ct);

    /// <summary>Deletes the streams an interrupted run left behind. Refuses when the version is complete: its rows are immutable.</summary>
    /// <exception cref="InvalidOperationException">The version has a manifest.</exception>
    public async Task<long> DeletePartialAsync(string version, DatasetLock held, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var db = redis.GetDatabase();
        var tx = db.CreateTransaction();
        tx.AddCondition(Condition.KeyNotExists(RedisKeys.DatasetManifest(version)));
        tx.AddCondition(Condition.StringEqual(held.Key, held.Token));
        var deleted = tx.KeyDeleteAsync([DatasetSplits.Key(version, Split.Train), DatasetSplits.Key(version, Split.Eval)]);
        if (!await tx.ExecuteAsync())
            throw new InvalidOperationException($"Dataset version '{version}' is complete or its lock was lost; its rows are not deleted.");
        return await deleted;
    }

    /// <summary>Appends rows to a split's stream with ids <c>0-(index+1)</c>, pipelined; rows must come in index order.</summary>
    public async Task AppendAsync(string version, Split split, IReadOnlyList<DatasetRow> rows, string traceparent, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var db = redis.GetDatabase();
        var key = DatasetSplits.Key(version, split);
        var writes = new Task[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            NameValueEntry[] fields = [new(RowField, rows[i].ToJson()), new(TraceparentField, traceparent)];
            writes[i] = db.StreamAddAsync(key, fields, messageId: EntryId(rows[i].Index));
        }
        await Task.WhenAll(writes);
    }

    /// <summary>
    /// Writes the manifest hash and indexes the version in one MULTI, only while <paramref name="held"/> is still ours and
    /// no manifest exists; returns false otherwise (nothing written).
    /// </summary>
    public async Task<bool> CompleteAsync(DatasetManifest manifest, DatasetLock held, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var version = manifest.Ref.Version;
        var key = RedisKeys.DatasetManifest(version);
        var tx = redis.GetDatabase().CreateTransaction();
        tx.AddCondition(Condition.KeyNotExists(key));
        tx.AddCondition(Condition.StringEqual(held.Key, held.Token));
        _ = tx.HashSetAsync(key,
        [
            new(DatasetCatalog.ManifestField, ProtoJson.Write(manifest)),
            // Mirrors for redis-cli readers; the "manifest" field is the source of truth.
            new("train_rows", manifest.TrainRows),
            new("eval_rows", manifest.EvalRows),
            new("rows_sha256", manifest.RowsSha256),
            new("source_revision", manifest.SourceRevision),
            new("created", manifest.Created.ToDateTimeOffset().ToString("O")),
        ]);
        _ = tx.SortedSetAddAsync(RedisKeys.DatasetIndex, version, manifest.Created.ToDateTimeOffset().ToUnixTimeMilliseconds());
        return await tx.ExecuteAsync();
    }

    /// <summary>The stream entry id of a split's row: <c>0-(index+1)</c>, so that offsets are direct XRANGE starts.</summary>
    public static string EntryId(long index) => $"0-{index + 1}";
}

/// <summary>
/// A Redis lock (SET NX PX with a random token) renewed in the background while held; disposing releases it only if it
/// is still ours. <see cref="Lost"/> turns true when a renewal finds the lock gone or taken.
/// </summary>
public sealed class DatasetLock : IAsyncDisposable
{
    private const string RenewScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
    private const string ReleaseScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

    private readonly IDatabase _db;
    private readonly TimeSpan _ttl;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewal;

    private DatasetLock(IDatabase db, RedisKey key, string token, TimeSpan ttl)
    {
        _db = db;
        Key = key;
        Token = token;
        _ttl = ttl;
        _renewal = RenewAsync();
    }

    /// <summary>The lock's key.</summary>
    public RedisKey Key { get; }

    /// <summary>This holder's random token (the key's value while held).</summary>
    public string Token { get; }

    /// <summary>True once a renewal found that the lock expired or belongs to someone else.</summary>
    public bool Lost { get; private set; }

    internal static async Task<DatasetLock?> TryAcquireAsync(IDatabase db, RedisKey key, TimeSpan ttl, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var token = Guid.NewGuid().ToString("N");
        return await db.StringSetAsync(key, token, ttl, When.NotExists) ? new DatasetLock(db, key, token, ttl) : null;
    }

    private async Task RenewAsync()
    {
        try
        {
            while (true)
            {
                await Task.Delay(_ttl / 3, _stop.Token);
                var renewed = (long)await _db.ScriptEvaluateAsync(RenewScript, [Key], [Token, (long)_ttl.TotalMilliseconds]);
                if (renewed == 0) { Lost = true; return; }
            }
        }
        catch (OperationCanceledException) { }
        catch (RedisException) { /* the next renewal or the final conditional write notices */ }
    }

    /// <summary>Stops renewing and deletes the key if it still holds our token.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _renewal;
        _stop.Dispose();
        try { await _db.ScriptEvaluateAsync(ReleaseScript, [Key], [Token]); }
        catch (RedisException) { /* it expires on its own */ }
    }
}
