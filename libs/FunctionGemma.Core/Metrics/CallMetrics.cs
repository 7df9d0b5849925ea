using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FunctionGemma.Core.Calls;
using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Json;
using FunctionGemma.Core.Prompt;
using Json.Schema;

namespace FunctionGemma.Core.Metrics;

/// <summary>One scored example: the model's decoded output and the gold call it should have produced.</summary>
/// <param name="Prediction">The decoded new text (special tokens skipped, trimmed), as the reference evaluation decodes it.</param>
/// <param name="GoldName">The gold tool name.</param>
/// <param name="GoldArgumentsJson">The gold arguments JSON (the clean row's <c>tool_arguments</c>).</param>
/// <param name="Tools">The row's normalized tools, used to validate predicted arguments against the named tool's schema.</param>
public sealed record EvalExample(string Prediction, string GoldName, string GoldArgumentsJson, JsonArray? Tools = null)
{
    /// <summary>The gold call block in the reference form (what TC-CER compares against).</summary>
    public string GoldBlock => ReferencePrompt.Target(GoldName, GoldArgumentsJson);
}

/// <summary>The scores of one evaluation run.</summary>
/// <param name="Count">Number of examples.</param>
/// <param name="ToolAccuracy">Share whose first <c>call:NAME{</c> names the gold tool.</param>
/// <param name="TcCer">Corpus CER between predicted and gold call blocks.</param>
/// <param name="ExactMatch">Share whose predicted call block equals the gold block (after stripping whitespace).</param>
/// <param name="ArgumentPrecision">Micro precision of predicted top-level (key, value) argument pairs.</param>
/// <param name="ArgumentRecall">Micro recall of gold top-level (key, value) argument pairs.</param>
/// <param name="ArgumentF1">Harmonic mean of precision and recall.</param>
/// <param name="JsonValidRate">Share whose first call parsed without a problem (reference form: the arguments are a JSON object).</param>
/// <param name="SchemaValidRate">Share whose first call names a listed tool and whose arguments satisfy that tool's parameter schema.</param>
public sealed record CallMetricsReport(
    int Count, double ToolAccuracy, double TcCer, double ExactMatch,
    double ArgumentPrecision, double ArgumentRecall, double ArgumentF1,
    double JsonValidRate, double SchemaValidRate);

/// <summary>The evaluation metrics of recipe.md ("Evaluation") plus argument-level and validity scores.</summary>
public static partial class CallMetrics
{
    /// <summary>The predicted tool name: the first match of <c>call:([a-zA-Z0-9_]+)\{</c>, or null.</summary>
    public static string? PredictedName(string prediction)
    {
        var m = NameRegex().Match(prediction);
        return m.Success ? m.Groups[1].Value : null;
    }

    /// <summary>Scores a set of examples.</summary>
    /// <exception cref="ArgumentException">No examples, or a gold block is empty (CER is undefined then).</exception>
    public static CallMetricsReport Compute(IReadOnlyList<EvalExample> examples)
    {
        if (examples.Count == 0) throw new ArgumentException("Metrics need at least one example.", nameof(examples));
        int toolHits = 0, exact = 0, jsonValid = 0, schemaValid = 0;
        long truePairs = 0, predictedPairs = 0, goldPairs = 0;
        var refs = new List<string>(examples.Count);
        var preds = new List<string>(examples.Count);
        foreach (var ex in examples)
        {
            if (PredictedName(ex.Prediction) == ex.GoldName) toolHits++;
            var gold = ex.GoldBlock;
            var block = TcCer.CallBlock(ex.Prediction);
            refs.Add(gold);
            preds.Add(block);
            if (PythonText.Strip(block) == PythonText.Strip(gold)) exact++;

            var parsed = FunctionCallFormat.Parse(ex.Prediction);
            var first = parsed.Calls.Count > 0 ? parsed.Calls[0] : null;
            if (first is { IsWellFormed: true }) jsonValid++;
            if (first is { IsWellFormed: true } && SatisfiesSchema(first.ToCall(), ex.Tools)) schemaValid++;

            var goldArgs = PythonJson.TryLoads(ex.GoldArgumentsJson, out var g) && g is JsonObject go ? go : [];
            var predArgs = first?.Arguments ?? [];
            var (tp, np, ng) = ArgumentPairs(predArgs, goldArgs);
            truePairs += tp; predictedPairs += np; goldPairs += ng;
        }
        double n = examples.Count;
        double precision = predictedPairs == 0 ? (goldPairs == 0 ? 1 : 0) : (double)truePairs / predictedPairs;
        double recall = goldPairs == 0 ? (predictedPairs == 0 ? 1 : 0) : (double)truePairs / goldPairs;
        double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return new CallMetricsReport(examples.Count, toolHits / n, TcCer.Compute(refs, preds), exact / n,
            precision, recall, f1, jsonValid / n, schemaValid / n);
    }

    /// <summary>Top-level argument pairs: (matching pairs, predicted pairs, gold pairs); values compare with Python <c>==</c>.</summary>
    public static (int TruePositives, int Predicted, int Gold) ArgumentPairs(JsonObject predicted, JsonObject gold)
    {
        int tp = 0;
        foreach (var (k, v) in predicted)
            if (gold.TryGetPropertyValue(k, out var gv) && HermesCleaner.PythonEquals(v, gv)) tp++;
        return (tp, predicted.Count, gold.Count);
    }

    /// <summary>True when <paramref name="call"/> names a tool of <paramref name="tools"/> and its arguments satisfy that tool's parameter schema.</summary>
    public static bool SatisfiesSchema(FunctionCall call, JsonArray? tools)
    {
        var tool = tools?.OfType<JsonObject>().FirstOrDefault(t => t["function"]?["name"] is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == call.Name);
        if (tool?["function"]?["parameters"] is not JsonObject parameters) return false;
        try
        {
            var schema = JsonSchema.FromText(StandardizeTypes(parameters).ToJsonString());
            using var instance = JsonDocument.Parse(call.Arguments.ToJsonString());
            return schema.Evaluate(instance.RootElement).IsValid;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A schema JSON Schema cannot read (e.g. Hermes oddities) validates nothing.
            return false;
        }
    }

    // Hermes/ToolACE schemas spell types informally ("dict", "int"); JSON Schema needs the standard names.
    private static JsonNode StandardizeTypes(JsonObject schema)
    {
        var copy = (JsonObject)schema.DeepClone();
        Walk(copy);
        return copy;

        static void Walk(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    if (o["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String)
                    {
                        var mapped = PythonText.Lower(PythonText.Strip(t.GetValue<string>())) switch
                        {
                            "dict" or "object" => "object", "int" or "integer" => "integer", "float" or "number" => "number",
                            "str" or "string" => "string", "bool" or "boolean" => "boolean", "list" or "array" or "tuple" => "array",
                            "null" => "null", _ => null,
                        };
                        if (mapped is null) o.Remove("type");
                        else o["type"] = mapped;
                    }
                    if (o.ContainsKey("required") && o["required"] is not JsonArray) o.Remove("required");
                    foreach (var (_, v) in o.ToList()) Walk(v);
                    break;
                case JsonArray a:
                    foreach (var v in a) Walk(v);
                    break;
            }
        }
    }

    [GeneratedRegex(@"call:([a-zA-Z0-9_]+)\{", RegexOptions.CultureInvariant)]
    private static partial Regex NameRegex();
}
