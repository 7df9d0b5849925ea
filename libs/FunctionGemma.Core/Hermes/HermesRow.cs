using System.Text.Json.Nodes;
using FunctionGemma.Core.Json;

namespace FunctionGemma.Core.Hermes;

/// <summary>One conversation turn of a Hermes row.</summary>
/// <param name="From">The role as written (<c>system</c>, <c>human</c>, <c>gpt</c>, <c>tool</c>); null when absent or not a string.</param>
/// <param name="Value">The turn text; null when absent or not a string.</param>
public sealed record HermesTurn(string? From, string? Value);

/// <summary>
/// A raw row of <c>interstellarninja/hermes_reasoning_tool_use</c>. Fields the dataset types as strings are null when
/// absent or of another type; <see cref="Tools"/> keeps whatever JSON the row holds (usually a JSON string).
/// </summary>
/// <param name="Conversations">The turns in order.</param>
/// <param name="Tools">The tools column: a JSON string, a list, or anything else (normalized by <see cref="ToolNormalizer"/>).</param>
/// <param name="Task">The user request the gold call answers.</param>
/// <param name="Category">The category column.</param>
/// <param name="Source">The source column (ToolAce, Glaive, Salesforce-Xlam, ...).</param>
/// <param name="ScenarioCategory">single, relevance, multiturn, multistep (or the card's spellings).</param>
public sealed record HermesRow(
    IReadOnlyList<HermesTurn> Conversations,
    JsonNode? Tools,
    string? Task,
    string? Category = null,
    string? Source = null,
    string? ScenarioCategory = null)
{
    /// <summary>Reads a row from one JSON object (a JSONL line).</summary>
    /// <exception cref="FormatException">The text is not a JSON object.</exception>
    public static HermesRow FromJson(string json)
    {
        if (!PythonJson.TryLoads(json, out var node) || node is not JsonObject obj)
            throw new FormatException($"A Hermes row must be one JSON object; got '{(json.Length <= 80 ? json : json[..80] + "…")}'.");
        return FromJson(obj);
    }

    /// <summary>Reads a row from a parsed JSON object; turns that are not objects become turns with no role and no text.</summary>
    public static HermesRow FromJson(JsonObject obj)
    {
        var turns = new List<HermesTurn>();
        if (obj["conversations"] is JsonArray conv)
            foreach (var t in conv)
                turns.Add(t is JsonObject to ? new HermesTurn(StringOrNull(to["from"]), StringOrNull(to["value"])) : new HermesTurn(null, null));
        return new HermesRow(
            turns,
            obj["tools"]?.DeepClone(),
            StringOrNull(obj["task"]),
            StringOrNull(obj["category"]),
            StringOrNull(obj["source"]),
            StringOrNull(obj["scenario_category"]));
    }

    private static string? StringOrNull(JsonNode? n) =>
        n is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String ? v.GetValue<string>() : null;
}
