using System.Text.Json.Nodes;
using FunctionGemma.Core.Json;

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
public sealed record CleanRow(string UserContent, string ToolName, string ToolArguments, JsonArray Tools)
{
    /// <summary>The row as one JSON object (a JSONL line): <c>user_content</c>, <c>tool_name</c>, <c>tool_arguments</c>, <c>tools</c>, Python spacing.</summary>
    public string ToJson() => PythonJson.Dumps(new JsonObject
    {
        ["user_content"] = UserContent,
        ["tool_name"] = ToolName,
        ["tool_arguments"] = ToolArguments,
        ["tools"] = Tools.DeepClone(),
    });

    /// <summary>Reads a row written by <see cref="ToJson"/>.</summary>
    /// <exception cref="FormatException">The text is not such an object.</exception>
    public static CleanRow FromJson(string json)
    {
        if (!PythonJson.TryLoads(json, out var node) || node is not JsonObject o
            || o["user_content"] is not JsonValue u || o["tool_name"] is not JsonValue n || o["tool_arguments"] is not JsonValue a || o["tools"] is not JsonArray t)
            throw new FormatException("A clean row is a JSON object with string user_content, tool_name, tool_arguments and a tools list.");
        return new CleanRow(u.GetValue<string>(), n.GetValue<string>(), a.GetValue<string>(), (JsonArray)t.DeepClone());
    }
}

/// <summary>The outcome of cleaning one row: exactly one of <see cref="Row"/> and <see cref="Dropped"/> is set.</summary>
/// <param name="Row">The clean row when kept.</param>
/// <param name="Dropped">The reason when dropped.</param>
public sealed record CleanOutcome(CleanRow? Row, DropReason? Dropped)
{
    /// <summary>True when the row was kept.</summary>
    public bool Kept => Row is not null;
}
