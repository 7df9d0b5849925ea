using System.Text.Json.Nodes;
using FunctionGemma.Core;
using FunctionGemma.Core.Json;

namespace FunctionGemma.DataPrep.Tests;

/// <summary>The repository's sample files and the expected cleaning of each sample row (Fixtures/sample_expected.jsonl).</summary>
public static class SampleData
{
    public static string JsonlPath => Path.Combine(RepoPaths.Root(), "samples", "hermes-sample.jsonl");

    public static string ParquetPath => Path.Combine(RepoPaths.Root(), "samples", "hermes-sample.parquet");

    public static Task<byte[]> SampleParquetBytesAsync() => File.ReadAllBytesAsync(ParquetPath);

    /// <summary>One entry per sample row, in file order.</summary>
    public static IReadOnlyList<Expected> ExpectedRows { get; } = Load();

    /// <summary>A row's expected outcome: the clean fields when kept, the Python drop reason otherwise.</summary>
    public sealed record Expected(int SourceRow, bool Kept, string? UserContent, string? ToolName, string? ToolArguments, string? ToolsJson, string? Drop);

    private static List<Expected> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "sample_expected.jsonl");
        var rows = new List<Expected>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            var o = (JsonObject)PythonJson.Loads(line)!;
            rows.Add(new Expected(
                o["source_row"]!.GetValue<int>(), o["kept"]!.GetValue<bool>(),
                o["user_content"]?.GetValue<string>(), o["tool_name"]?.GetValue<string>(), o["tool_arguments"]?.GetValue<string>(),
                o["tools"] is { } t ? PythonJson.Dumps(t) : null, o["drop"]?.GetValue<string>()));
        }
        return rows;
    }
}
