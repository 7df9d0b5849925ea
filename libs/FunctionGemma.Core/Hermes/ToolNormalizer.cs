using System.Text.Json;
using System.Text.Json.Nodes;
using FunctionGemma.Core.Json;

namespace FunctionGemma.Core.Hermes;

/// <summary>Reference rules 1–2: the tools column → a list of <c>{"type": "function", "function": {name, description, parameters}}</c>.</summary>
public static class ToolNormalizer
{
    /// <summary>Rule 1: missing → empty; a list stays; a string is trimmed and JSON-parsed, kept only if a list; anything else → empty. Non-object entries are skipped.</summary>
    public static IReadOnlyList<JsonObject> ToolList(JsonNode? tools)
    {
        JsonArray? list = tools as JsonArray;
        if (tools is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            var text = PythonText.Strip(v.GetValue<string>());
            if (text.Length > 0 && PythonJson.TryLoads(text, out var parsed)) list = parsed as JsonArray;
        }
        return list is null ? [] : [.. list.OfType<JsonObject>()];
    }

    /// <summary>Rules 1–2 together: the normalized tool list of a row's tools column.</summary>
    public static JsonArray Normalize(JsonNode? tools)
    {
        var result = new JsonArray();
        foreach (var tool in ToolList(tools)) result.Add(NormalizeTool(tool));
        return result;
    }

    /// <summary>Rule 2 for one tool: JSON-Schema parameters kept (with <c>required: []</c> added when absent); per-argument specs become required properties.</summary>
    public static JsonObject NormalizeTool(JsonObject tool)
    {
        var function = new JsonObject
        {
            ["name"] = tool["name"]?.DeepClone(),
            // Python dict.get("description", ""): only a missing key defaults; an explicit null stays null.
            ["description"] = tool.ContainsKey("description") ? tool["description"]?.DeepClone() : "",
            ["parameters"] = NormalizeParameters(tool["parameters"]),
        };
        return new JsonObject { ["type"] = "function", ["function"] = function };
    }

    private static JsonObject NormalizeParameters(JsonNode? parameters)
    {
        if (parameters is JsonObject schema && schema.ContainsKey("type") && schema.ContainsKey("properties"))
        {
            var kept = (JsonObject)schema.DeepClone();
            if (!kept.ContainsKey("required")) kept["required"] = new JsonArray();
            return kept;
        }
        var properties = new JsonObject();
        var required = new JsonArray();
        if (parameters is JsonObject perArgument)
        {
            foreach (var (name, spec) in perArgument)
            {
                JsonNode? description = "";
                JsonNode? type = "str";
                if (spec is null || spec is JsonObject)
                {
                    var o = spec as JsonObject ?? [];
                    description = o.ContainsKey("description") ? o["description"] : "";
                    type = o.ContainsKey("type") ? o["type"] : "str";
                }
                var property = InformalTypeParser.Parse(type);
                if (PythonText.Truthy(description)) property["description"] = description!.DeepClone();
                // A later duplicate of a name replaces the property in place, as Python dict assignment does.
                properties[name] = property;
                required.Add(name);
            }
        }
        return new JsonObject { ["type"] = "object", ["properties"] = properties, ["required"] = required };
    }

    /// <summary>The name of a normalized tool (<c>tool["function"]["name"]</c>).</summary>
    public static JsonNode? NameOf(JsonObject normalizedTool) => normalizedTool["function"]?["name"];
}
