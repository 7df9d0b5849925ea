using System.Runtime.CompilerServices;
using FunctionGemma.Protos;
using StackExchange.Redis;

namespace FunctionGemma.Storage;

/// <summary>
/// Reads the rows of complete dataset versions from their Redis streams. This is how the Trainer and the Evaluator
/// get their examples: <c>await rows.ReadAsync(version, Split.Train)</c>.
/// </summary>
public sealed class DatasetRows(IConnectionMultiplexer redis)
{
    private const int PageSize = 512;
    private readonly DatasetCatalog _catalog = new(redis);

    /// <summary>
    /// Rows <paramref name="offset"/> .. <paramref name="offset"/>+<paramref name="limit"/>-1 of a split, in order
    /// (<paramref name="limit"/> 0 = all remaining rows; an offset past the end gives none).
    /// </summary>
    /// <exception cref="KeyNotFoundException">The version is absent or incomplete.</exception>
    /// <exception cref="ArgumentException">The split is unspecified, or offset/limit are negative.</exception>
    public async Task<IReadOnlyList<DatasetRow>> ReadAsync(string version, Split split, long offset = 0, long limit = 0, CancellationToken ct = default)
    {
        var rows = new List<DatasetRow>();
        await foreach (var row in StreamAsync(version, split, offset, limit, ct)) rows.Add(row);
        return rows;
    }

    /// <summary>Like <see cref="ReadAsync"/>, page by page, for large splits and streaming RPCs.</summary>
    public async IAsyncEnumerable<DatasetRow> StreamAsync(string version, Split split, long offset = 0, long limit = 0,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var key = DatasetSplits.Key(version, split);
        // Only complete versions are readable: a stream without a manifest may be half written.
        var manifest = await _catalog.GetAsync(version, ct);
        long count = split == Split.Train ? manifest.TrainRows : manifest.EvalRows;
        long end = limit == 0 ? count : Math.Min(count, offset + limit);
        var db = redis.GetDatabase();
        for (long next = offset; next < end;)
        {
            ct.ThrowIfCancellationRequested();
            int page = (int)Math.Min(PageSize, end - next);
            var entries = await db.StreamRangeAsync(key, DatasetWriter.EntryId(next), "+", page);
            if (entries.Length == 0)
                throw new InvalidOperationException($"Dataset version '{version}' {DatasetSplits.Name(split)} stream ends at row {next} but its manifest says {count}.");
            foreach (var entry in entries)
            {
                var row = DatasetRow.FromJson(entry[DatasetWriter.RowField]!);
                if (row.Index != next)
                    throw new InvalidOperationException($"Dataset version '{version}' {DatasetSplits.Name(split)} stream has row {row.Index} where {next} belongs.");
                yield return row;
                if (++next >= end) break;
            }
        }
    }

    /// <summary>The W3C traceparent stored with a row (the span of the prepare that wrote it); null when absent.</summary>
    public async Task<string?> TraceparentAsync(string version, Split split, long index, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var id = DatasetWriter.EntryId(index);
        var entries = await redis.GetDatabase().StreamRangeAsync(DatasetSplits.Key(version, split), id, id, 1);
        return entries.Length == 0 ? null : (string?)entries[0][DatasetWriter.TraceparentField];
    }
}
