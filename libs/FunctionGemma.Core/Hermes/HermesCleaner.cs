using System.Text.Json;
using System.Text.Json.Nodes;
using FunctionGemma.Core.Json;

namespace FunctionGemma.Core.Hermes;

/// <summary>The reference cleaning rules (recipe.md, "Cleaning rules"): a raw Hermes row → a clean row or a drop reason.</summary>
public static class HermesCleaner
{
    /// <summary>Cleans one row; never throws for any row content.</summary>
    public static CleanOutcome Clean(HermesRow row)
    {
        var tools = ToolNormalizer.Normalize(row.Tools);
        var gold = GoldCallExtractor.Find(row.Conversations, row.Task);
        if (gold is null) return new(null, DropReason.NoGoldCall);
        if (tools.Count == 0) return new(null, DropReason.NoTools);
        var goldTool = tools.OfType<JsonObject>().FirstOrDefault(t => PythonEquals(ToolNormalizer.NameOf(t), gold.Name));
        if (goldTool is null) return new(null, DropReason.GoldToolNotInTools);

        var arguments = gold.Arguments as JsonObject ?? [];
        if (!PythonText.Truthy(goldTool["function"]?["parameters"]?["required"])) arguments = [];
        return new(new CleanRow(row.Task ?? "", PythonText.Str(gold.Name), PythonJson.Dumps(arguments), tools), null);
    }

    /// <summary>Cleans every row, keeping the input order.</summary>
    public static IEnumerable<(HermesRow Row, CleanOutcome Outcome)> CleanAll(IEnumerable<HermesRow> rows)
    {
        foreach (var row in rows) yield return (row, Clean(row));
    }

    /// <summary>Python <c>==</c> between JSON values (1 == 1.0 == True; lists and dicts compare deeply).</summary>
    public static bool PythonEquals(JsonNode? a, JsonNode? b)
    {
        switch (a, b)
        {
            case (null, null): return true;
            case (null, _) or (_, null): return false;
            case (JsonArray x, JsonArray y):
                return x.Count == y.Count && x.Zip(y).All(p => PythonEquals(p.First, p.Second));
            case (JsonObject x, JsonObject y):
                return x.Count == y.Count && x.All(p => y.TryGetPropertyValue(p.Key, out var other) && PythonEquals(p.Value, other));
            case (JsonValue x, JsonValue y):
                var (kx, ky) = (x.GetValueKind(), y.GetValueKind());
                if (kx == JsonValueKind.String || ky == JsonValueKind.String)
                    return kx == ky && x.GetValue<string>() == y.GetValue<string>();
                if (!IsNumeric(kx) || !IsNumeric(ky)) return false;
                var (nx, ny) = (AsNumber(x), AsNumber(y));
                if (nx.IsInteger && ny.IsInteger) return nx.Integer == ny.Integer;
                return ToDouble(nx) == ToDouble(ny);
            default: return false;
        }
    }

    private static bool IsNumeric(JsonValueKind k) => k is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False;

    private static PythonNumber AsNumber(JsonValue v) => v.GetValueKind() switch
    {
        JsonValueKind.True => new(true, 1, 0),
        JsonValueKind.False => new(true, 0, 0),
        _ => PythonNumber.Of(v),
    };

    private static double ToDouble(PythonNumber n) => n.IsInteger ? (double)n.Integer : n.Float;
}
