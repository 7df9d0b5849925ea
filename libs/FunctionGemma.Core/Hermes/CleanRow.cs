using System.Text.Json.Nodes;

namespace FunctionGemma.Core.Hermes;

/// <summary>Why the reference rules drop a row.</summary>
public enum DropReason
{
    /// <summary>No assistant turn after the task's user turn carries a parseable gold <c>&lt;tool_call&gt;</c>.</summary>
    NoGoldCall,

    /// <summary>The tools column yields no tool.</summary>
    NoTools,

    /// <summary>The gold call's name is not the name of any listed tool.</summary>
    GoldToolNotInTools,
}

/// <summary>A training/eval example after cleaning (rule 6).</summary>
/// <param name="UserContent">The task text, as the row holds it.</param>
/// <param name="ToolName">The gold tool name.</param>
/// <param name="ToolArguments">The gold arguments as Python <c>json.dumps(ensure_ascii=False)</c> text.</param>
/// <param name="Tools">The normalized tool list (<c>{"type": "function", "function": {...}}</c> objects).</param>
public sealed record CleanRow(string UserContent, string ToolName, string ToolArguments, JsonArray Tools);

/// <summary>The outcome of cleaning one row: exactly one of <see cref="Row"/> and <see cref="Dropped"/> is set.</summary>
/// <param name="Row">The clean row when kept.</param>
/// <param name="Dropped">The reason when dropped.</param>
public sealed record CleanOutcome(CleanRow? Row, DropReason? Dropped)
{
    /// <summary>True when the row was kept.</summary>
    public bool Kept => Row is not null;
}
