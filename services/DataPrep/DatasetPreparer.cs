using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Sampling;
using FunctionGemma.DataPrep.Sources;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using FunctionGemma.Storage.Hermes;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FunctionGemma.DataPrep;

/// <summary>
/// Turns a <see cref="DatasetSpec"/> into a complete dataset version in Redis: pin the source, derive the version id,
/// return the existing version if there is one, otherwise (under the version's lock) delete what an interrupted run
/// left, read the seeded subset, clean it, stream the rows into Redis and write the manifest last.
/// </summary>
public sealed partial class DatasetPreparer(
    IConnectionMultiplexer redis,
    HermesSources sources,
    DataPrepMetrics metrics,
    IOptions<DataPrepOptions> options,
    ILogger<DatasetPreparer> logger,
    TimeProvider clock)
{
    private static readonly string CodeVersion =
        typeof(DatasetPreparer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private readonly DatasetCatalog _catalog = new(redis);
    private readonly DatasetWriter _writer = new(redis);

    /// <summary>Prepares (or finds) the version for <paramref name="spec"/>; <paramref name="report"/> receives progress events.</summary>
    /// <exception cref="ArgumentException">The spec is invalid or the source unreadable (the message names the field).</exception>
    public async Task<DatasetManifest> PrepareAsync(DatasetSpec spec, Func<PrepareProgress, Task> report, CancellationToken ct)
    {
        // The prepare span's traceparent goes with every row and into the lineage, even when nobody listens to spans.
        using var activity = DataPrepMetrics.Source.StartActivity("PrepareDataset") ?? new Activity("PrepareDataset").Start();
        var started = clock.GetTimestamp();
        var normalized = DatasetVersions.Normalize(spec);
        var rules = CleaningRules.Named(normalized.Rules);
        var source = sources.Create(normalized.Source);
        activity.SetTag("fg.dataset.source", normalized.Source);

        await report(Event("resolve", 0, 1, $"Pinning {normalized.Source}"));
        var revision = await source.ResolveAsync(ct);
        var version = DatasetVersions.VersionId(revision.Identity, normalized, rules);
        activity.SetTag("fg.dataset.version", version);
        activity.SetTag("fg.dataset.source_revision", revision.Revision);
        Task Report(PrepareProgress p) { p.Version = version; return report(p); }
        await Report(Event("resolve", 1, 1, $"Pinned {revision.Identity}"));

        if (await _catalog.FindAsync(version, ct) is { } existing)
            return await Existing(existing);

        await using var held = await LockAsync(version, Report, ct);
        if (await _catalog.FindAsync(version, ct) is { } finished)
            return await Existing(finished);

        var deleted = await _writer.DeletePartialAsync(version, held, ct);
        if (deleted > 0)
        {
            LogCleanedUp(version, deleted);
            await Report(Event("cleanup", 1, 1, "Deleted the rows an interrupted prepare left behind"));
        }

        var fetchReporter = new FetchReporter(Report);
        var files = await source.FetchAsync(revision, fetchReporter, ct);
        await fetchReporter.Drain();
        var rowCount = await HermesFiles.CountRowsAsync(files, ct);
        int total = DatasetVersions.CheckAgainstRows(normalized, rowCount);
        var subset = SubsetSplit.Create(checked((int)rowCount), normalized.Seed, total, total - normalized.Eval);
        await Report(Event("read", 0, total, $"Reading {total} of {rowCount} rows"));
        var raw = await ReadSubsetAsync(files, subset, ct);
        await Report(Event("read", total, total, $"Read {total} rows"));

        var traceparent = activity.Id ?? "";
        var drops = System.Enum.GetValues<DropReason>().ToDictionary(CleaningRules.DropKey, _ => 0);
        using var rowsHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        int done = 0, trainRows = 0, evalRows = 0;
        foreach (var (split, indices) in new[] { (Split.Train, subset.Train), (Split.Eval, subset.Eval) })
        {
            var batch = new List<DatasetRow>(options.Value.WriteBatchSize);
            long next = 0;
            foreach (var sourceRow in indices)
            {
                var row = raw[sourceRow];
                var outcome = rules.Clean(row);
                if (outcome.Row is { } clean)
                {
                    var stored = new DatasetRow(next++, sourceRow, clean, row.ScenarioCategory ?? "", row.Source ?? "");
                    rowsHash.AppendData(Encoding.UTF8.GetBytes(stored.ToJson() + "\n"));
                    batch.Add(stored);
                }
                else drops[CleaningRules.DropKey(outcome.Dropped!.Value)]++;
                done++;
                if (batch.Count == options.Value.WriteBatchSize) await Flush();
            }
            await Flush();
            if (split == Split.Train) trainRows = (int)next; else evalRows = (int)next;

            async Task Flush()
            {
                if (batch.Count > 0)
                {
                    await _writer.AppendAsync(version, split, batch, traceparent, ct);
                    metrics.Cleaned(batch.Count, rules.Name);
                    batch.Clear();
                }
                var p = Event("clean", done, total, $"Cleaned and wrote {DatasetSplits.Name(split)} rows");
                p.Drops.Add(drops);
                await Report(p);
            }
        }
        foreach (var (reason, n) in drops) if (n > 0) metrics.Dropped(reason, n, rules.Name);

        var now = Timestamp.FromDateTimeOffset(clock.GetUtcNow());
        var manifest = new DatasetManifest
        {
            Ref = new DatasetRef { Version = version },
            Spec = normalized,
            SourceRevision = revision.Revision,
            TrainRows = trainRows,
            EvalRows = evalRows,
            Drops = { drops },
            RowsSha256 = Convert.ToHexStringLower(rowsHash.GetHashAndReset()),
            RulesVersion = rules.Version,
            Created = now,
            Lineage = new Lineage { Traceparent = traceparent, CodeVersion = CodeVersion, Created = now, Creator = "dataprep" },
        };
        ct.ThrowIfCancellationRequested();
        if (!await _writer.CompleteAsync(manifest, held, ct))
            throw new InvalidOperationException($"Dataset version '{version}' lost its prepare lock before completing (a stall longer than {options.Value.LockTtl}); run PrepareDataset again.");

        metrics.Prepared("created");
        metrics.Duration(clock.GetElapsedTime(started));
        LogPrepared(version, trainRows, evalRows, string.Join(", ", drops.Select(d => $"{d.Key}={d.Value}")));
        await Report(new PrepareProgress { Done = manifest });
        return manifest;

        async Task<DatasetManifest> Existing(DatasetManifest m)
        {
            metrics.Prepared("existing");
            await report(new PrepareProgress { Version = m.Ref.Version, Done = m });
            return m;
        }
    }

    private async Task<DatasetLock> LockAsync(string version, Func<PrepareProgress, Task> report, CancellationToken ct)
    {
        bool told = false;
        while (true)
        {
            if (await _writer.TryLockAsync(version, options.Value.LockTtl, ct) is { } held) return held;
            if (!told)
            {
                await report(Event("wait", 0, 1, "Another prepare of this version is running; waiting for it"));
                told = true;
            }
            if (await _catalog.FindAsync(version, ct) is not null)
            {
                // The other writer finished: take the lock briefly so the caller's re-check sees the manifest.
                await Task.Delay(50, ct);
                continue;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
        }
    }

    private static async Task<HermesRow[]> ReadSubsetAsync(IReadOnlyList<HermesFile> files, SubsetSplit subset, CancellationToken ct)
    {
        var wanted = new HashSet<long>(subset.Train.Count + subset.Eval.Count);
        foreach (var i in subset.Train) wanted.Add(i);
        foreach (var i in subset.Eval) wanted.Add(i);
        var rows = new Dictionary<long, HermesRow>(wanted.Count);
        await foreach (var (index, row) in HermesFiles.ReadAsync(files, wanted.Contains, ct)) rows[index] = row;
        var max = wanted.Count == 0 ? 0 : (int)wanted.Max() + 1;
        var byIndex = new HermesRow[max];
        foreach (var (i, r) in rows) byIndex[i] = r;
        return byIndex;
    }

    private static PrepareProgress Event(string stage, long done, long total, string message) => new()
    {
        Progress = new Progress { Stage = stage, Done = done, Total = total, Message = message, At = Timestamp.FromDateTime(DateTime.UtcNow) },
    };

    /// <summary>Download progress as prepare events (at most one per reported chunk).</summary>
    private sealed class FetchReporter(Func<PrepareProgress, Task> report) : IProgress<FetchProgress>
    {
        private Task _pending = Task.CompletedTask;

        // Progress is lossy: while the previous event is still being sent, newer ones are skipped (streams allow one write at a time).
        public void Report(FetchProgress p)
        {
            if (_pending.IsCompleted) _pending = report(Event("download", p.Done, p.Total, $"Downloading {p.File}"));
        }

        public Task Drain() => _pending;
    }

    [LoggerMessage(LogLevel.Information, "Deleted {Entries} partial row streams of dataset version {Version} left by an interrupted prepare")]
    private partial void LogCleanedUp(string version, long entries);

    [LoggerMessage(LogLevel.Information, "Prepared dataset version {Version}: {TrainRows} train, {EvalRows} eval rows; drops {Drops}")]
    private partial void LogPrepared(string version, int trainRows, int evalRows, string drops);
}
