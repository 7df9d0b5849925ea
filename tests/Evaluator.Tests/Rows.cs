using System.Text.Json.Nodes;
using FunctionGemma.Core.Hermes;
using FunctionGemma.Evaluator.Reports;
using FunctionGemma.Protos;
using CleanRow = FunctionGemma.Core.Hermes.CleanRow;
using FunctionGemma.Storage;

namespace FunctionGemma.Evaluator.Tests;

/// <summary>Hand-made clean rows and predictions for the scoring tests.</summary>
internal static class Rows
{
    public const string WeatherCall = "<start_function_call>call:get_weather{args:<escape>{\"city\": \"Paris\"}<escape>}<end_function_call>";

    public static JsonArray Tools() => (JsonArray)JsonNode.Parse("""
        [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
         {"type": "function", "function": {"name": "get_time", "description": "",
          "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}]
        """)!;

    public static DatasetRow Weather(long index, string scenario = "single") =>
        new(index, 100 + index, new CleanRow("What's the weather in Paris?", "get_weather", "{\"city\": \"Paris\"}", Tools()), scenario, "test");

    public static DatasetRow Time(long index, string scenario = "single") =>
        new(index, 100 + index, new CleanRow("What time is it in UTC?", "get_time", "{\"zone\": \"UTC\"}", Tools()), scenario, "test");

    /// <summary>Five rows: exact reference call, native call, wrong tool, empty output, truncated call.</summary>
    public static List<GeneratedRow> Mixed() =>
    [
        new(Weather(0), WeatherCall, 20),
        new(Weather(1), "<start_function_call>call:get_weather{city:<escape>Paris<escape>}<end_function_call>", 14),
        new(Time(2), "<start_function_call>call:get_weather{args:<escape>{}<escape>}<end_function_call>", 12),
        new(Weather(3, scenario: ""), "", 1),
        new(Weather(4), "<start_function_call>call:get_weather{args:<escape>{\"city\": \"Par", 128),
    ];

    public static EvalReport Report(IReadOnlyList<GeneratedRow> rows, string id = "r")
    {
        var report = new EvalReport
        {
            ReportId = id,
            ModelIdentity = "sha256:" + id,
            Spec = new EvalSpec { Dataset = new DatasetRef { Version = "ds" }, N = rows.Count, Split = Split.Eval, MaxNewTokens = 128, BatchSize = 16, StopTokenIds = { 1, 106, 50 } },
            Lineage = new Lineage { CodeVersion = "test" },
        };
        ReportBuilder.Fill(report, rows);
        return report;
    }
}
