using System.Text;
using System.Text.Json.Nodes;
using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Json;
using Split = FunctionGemma.Protos.Split;

namespace FunctionGemma.Storage;

/// <summary>
/// One row of a dataset version's split as stored in its Redis stream: the clean row plus where it came from.
/// </summary>
/// <param name="Index">Position in the split (0-based); the stream entry id is <c>0-(Index+1)</c>.</param>
/// <param name="SourceRow">Index of the raw row in the source (before shuffling).</param>
/// <param name="Clean">The cleaned supervised example.</param>
/// <param name="ScenarioCategory">The raw row's scenario_category ("" when absent).</param>
/// <param name="Source">The raw row's source column ("" when absent).</param>
public sealed record DatasetRow(long Index, long SourceRow, CleanRow Clean, string ScenarioCategory, string Source)
{
    /// <summary>
    /// The canonical JSON line of the row, in Python <c>json.dumps(ensure_ascii=False)</c> spelling and this key order:
    /// <c>index, source_row, user_content, tool_name, tool_arguments, tools, scenario_category, source</c>.
    /// <c>tool_arguments</c> is JSON text; <c>tools</c> is the normalized tool list as a JSON array.
    /// </summary>
    public string ToJson()
    {
        var sb = new StringBuilder(256);
        sb.Append("{\"index\": ").Append(Index)
          .Append(", \"source_row\": ").Append(SourceRow)
          .Append(", \"user_content\": ").Append(PythonJson.DumpsString(Clean.UserContent))
          .Append(", \"tool_name\": ").Append(PythonJson.DumpsString(Clean.ToolName))
          .Append(", \"tool_arguments\": ").Append(PythonJson.DumpsString(Clean.ToolArguments))
          .Append(", \"tools\": ").Append(PythonJson.Dumps(Clean.Tools))
          .Append(", \"scenario_category\": ").Append(PythonJson.DumpsString(ScenarioCategory))
          .Append(", \"source\": ").Append(PythonJson.DumpsString(Source))
          .Append('}');
        return sb.ToString();
    }

    /// <summary>Parses a line written by <see cref="ToJson"/>.</summary>
    /// <exception cref="FormatException">The text is not a dataset row.</exception>
    public static DatasetRow FromJson(string json)
    {
        if (PythonJson.Loads(json) is not JsonObject o)
            throw new FormatException("A dataset row must be a JSON object.");
        var tools = o["tools"] as JsonArray ?? throw new FormatException("A dataset row needs a 'tools' array.");
        o.Remove("tools");
        return new DatasetRow(
            Long(o, "index"),
            Long(o, "source_row"),
            new CleanRow(Text(o, "user_content"), Text(o, "tool_name"), Text(o, "tool_arguments"), tools),
            Text(o, "scenario_category"),
            Text(o, "source"));
    }

    /// <summary>The row as the gRPC <c>CleanRow</c> message (tools and arguments as JSON text).</summary>
    public Protos.CleanRow ToProto() => new()
    {
        Index = Index,
        UserContent = Clean.UserContent,
        ToolName = Clean.ToolName,
        ToolArgumentsJson = Clean.ToolArguments,
        ToolsJson = PythonJson.Dumps(Clean.Tools),
        ScenarioCategory = ScenarioCategory,
        Source = Source,
    };

    private static string Text(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new FormatException($"A dataset row needs a string '{key}'.");

    private static long Long(JsonObject o, string key) =>
        o[key] is JsonValue v && long.TryParse(v.ToJsonString(), out var n) ? n : throw new FormatException($"A dataset row needs an integer '{key}'.");
}

/// <summary>Names of the splits as they appear in Redis keys and files.</summary>
public static class DatasetSplits
{
    /// <summary>"train" or "eval".</summary>
    /// <exception cref="ArgumentException">The split is unspecified.</exception>
    public static string Name(Split split) => split switch
    {
        Split.Train => "train",
        Split.Eval => "eval",
        _ => throw new ArgumentException($"Split '{split}' is not a dataset split: use SPLIT_TRAIN or SPLIT_EVAL.", nameof(split)),
    };

    /// <summary>The stream key of a version's split.</summary>
    public static StackExchange.Redis.RedisKey Key(string version, Split split) => RedisKeys.DatasetRows(version, Name(split));
}
