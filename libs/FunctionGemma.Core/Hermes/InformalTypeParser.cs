using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FunctionGemma.Core.Json;

namespace FunctionGemma.Core.Hermes;

/// <summary>Reference rule 3: an informal Hermes type (<c>"str"</c>, <c>"List[int]"</c>, <c>"Dict[str, float]"</c>, ...) → a JSON Schema fragment.</summary>
public static partial class InformalTypeParser
{
    /// <summary>The JSON Schema fragment for an informal type; never throws, unknown spellings become <c>{"type": "string"}</c>.</summary>
    public static JsonObject Parse(JsonNode? type)
    {
        switch (type)
        {
            case null: return Simple("string");
            case JsonObject o: return o.ContainsKey("type") ? (JsonObject)o.DeepClone() : Simple("object");
            case JsonArray: return Simple("array");
        }
        if (type is not JsonValue v || v.GetValueKind() != JsonValueKind.String) return Simple("string");
        var s = PythonText.Strip(v.GetValue<string>());
        // Python's lower() maps no non-ASCII character onto these ASCII names except K (no name has k).
        var lower = s.All(char.IsAscii) ? s.ToLowerInvariant() : null;
        switch (lower)
        {
            case "str" or "string": return Simple("string");
            case "int" or "integer": return Simple("integer");
            case "float" or "number": return Simple("number");
            case "bool" or "boolean": return Simple("boolean");
            case "dict" or "object": return Simple("object");
            case "list" or "array": return Simple("array");
        }
        var list = ListType().Match(s);
        if (list.Success)
            return new JsonObject { ["type"] = "array", ["items"] = Parse(JsonValue.Create(list.Groups[1].Value)) };
        var dict = DictType().Match(s);
        if (dict.Success)
            return new JsonObject { ["type"] = "object", ["additionalProperties"] = Parse(JsonValue.Create(dict.Groups[2].Value)) };
        return Simple("string");
    }

    private static JsonObject Simple(string t) => new() { ["type"] = t };

    // Python's \s also matches \x1c-\x1f; '$' may match before a final newline in both engines.
    [GeneratedRegex(@"^List\[(.+)\]$", RegexOptions.CultureInvariant)]
    private static partial Regex ListType();

    [GeneratedRegex(@"^Dict\[(.+),[\s\x1c-\x1f]*(.+)\]$", RegexOptions.CultureInvariant)]
    private static partial Regex DictType();
}
