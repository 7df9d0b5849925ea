using System.Runtime.CompilerServices;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using FunctionGemma.Trainer.Training;
using Google.Protobuf.WellKnownTypes;
using StackExchange.Redis;

namespace FunctionGemma.Trainer.Runs;

/// <summary>
/// A run's events in its Redis stream (<see cref="RedisKeys.RunEvents"/>), one entry per <see cref="TrainEvent"/> as
/// protobuf JSON in the field "event". Workers and the supervisor append; WatchRun and the supervisor read.
/// </summary>
public sealed class RunEventLog(IConnectionMultiplexer redis, string runId) : ITrainEventSink
{
    /// <summary>The stream entry field holding the event JSON.</summary>
    public const string Field = "event";

    /// <inheritdoc/>
    public async Task PublishAsync(TrainEvent e, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        e.RunId = runId;
        e.At ??= Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        await redis.GetDatabase().StreamAddAsync(RedisKeys.RunEvents(runId), Field, ProtoJson.Write(e));
    }

    /// <summary>Events after stream id <paramref name="after"/> ("0" = from the start), with their ids.</summary>
    public async Task<IReadOnlyList<(RedisValue Id, TrainEvent Event)>> ReadAfterAsync(RedisValue after, int count = 500)
    {
        var entries = await redis.GetDatabase().StreamReadAsync(RedisKeys.RunEvents(runId), after, count);
        return entries.Select(x => (x.Id, ProtoJson.Read<TrainEvent>(x[Field]!))).ToList();
    }

    /// <summary>
    /// The events of the run's current attempt, then new ones as they come (polled every <paramref name="poll"/>), until the stream
    /// rests on a terminal state event (a resumed run continues past its earlier FAILED or CANCELLED).
    /// </summary>
    public async IAsyncEnumerable<TrainEvent> FollowAsync(TimeSpan poll, [EnumeratorCancellation] CancellationToken ct)
    {
        // Start at the current attempt: the last QUEUED state event (a resume re-queues the run), so a watcher of a
        // resumed run does not stop at the FAILED that ended the previous attempt.
        RedisValue last = "0-0";
        var existing = await redis.GetDatabase().StreamRangeAsync(RedisKeys.RunEvents(runId), "-", "+");
        for (int i = existing.Length - 1; i > 0; i--)
            if (ProtoJson.Read<TrainEvent>(existing[i][Field]!).State is { State: JobState.Queued })
            {
                last = existing[i - 1].Id;
                break;
            }
        bool ended = false;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var batch = await ReadAfterAsync(last);
            foreach (var (id, e) in batch)
            {
                last = id;
                ended = e.State is { } s && RunStates.IsTerminal(s.State);
                yield return e;
            }
            if (batch.Count == 0)
            {
                if (ended) yield break;
                await Task.Delay(poll, ct);
            }
        }
    }
}

/// <summary>Run lifecycle rules.</summary>
public static class RunStates
{
    /// <summary>Whether the run has ended.</summary>
    public static bool IsTerminal(JobState s) => s is JobState.Succeeded or JobState.Failed or JobState.Cancelled;
}

/// <summary>The NCCL id exchange of one launch of one run through a Redis key with a TTL.</summary>
public sealed class RedisRendezvous(IConnectionMultiplexer redis, string runId, string launchId) : Model.Distributed.IRendezvous
{
    RedisKey Key => $"fg:run:{runId}:nccl:{launchId}";

    /// <inheritdoc/>
    public Task PublishAsync(byte[] id, CancellationToken ct) =>
        redis.GetDatabase().StringSetAsync(Key, id, TimeSpan.FromHours(1));

    /// <inheritdoc/>
    public async Task<byte[]> WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var v = await redis.GetDatabase().StringGetAsync(Key);
            if (!v.IsNull) return (byte[])v!;
            await Task.Delay(100, ct);
        }
        throw new TimeoutException($"Rank 0 of run '{runId}' published no NCCL id at {Key} within {timeout.TotalSeconds:0}s; it probably failed to start (see its log).");
    }
}
