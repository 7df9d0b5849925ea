using System.Diagnostics;

namespace FunctionGemma.AppHost.Tests;

/// <summary>Makes the test's own ActivitySources record (so trace context flows to the services) and waits for spans.</summary>
public static class TestTracing
{
    /// <summary>Samples every activity of <paramref name="source"/> while the returned listener lives.</summary>
    public static ActivityListener Listen(string source)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    /// <summary>The services (sorted) that exported spans of <paramref name="traceId"/>, once all wanted ones did or 60 s passed.</summary>
    public static async Task<List<string>> WaitForServicesAsync(OtlpCollector collector, string traceId, string[] wanted, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        List<string> seen = [];
        while (DateTime.UtcNow < deadline)
        {
            seen = collector.Spans.Where(s => s.TraceId == traceId).Select(s => s.Service).Distinct().Order().ToList();
            if (wanted.All(seen.Contains)) break;
            await Task.Delay(500, ct);
        }
        return seen;
    }
}

/// <summary>IProgress that reports on the caller's thread (Progress&lt;T&gt; posts to the thread pool, out of order).</summary>
public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
