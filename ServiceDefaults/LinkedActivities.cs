using System.Diagnostics;

namespace FunctionGemma.ServiceDefaults;

/// <summary>Spans that point back at the span which produced their input (a run, a dataset version, a model).</summary>
public static class LinkedActivities
{
    /// <summary>
    /// Starts <paramref name="name"/> under the current span, linked to <paramref name="traceparent"/> (a W3C traceparent
    /// from an artifact's lineage) when one is given and valid.
    /// </summary>
    public static Activity? StartLinked(this ActivitySource source, string name, string? traceparent, ActivityKind kind = ActivityKind.Internal)
    {
        var links = traceparent is { Length: > 0 } && ActivityContext.TryParse(traceparent, null, out var ctx) ? new[] { new ActivityLink(ctx) } : null;
        return source.StartActivity(name, kind, parentContext: default, links: links);
    }
}
