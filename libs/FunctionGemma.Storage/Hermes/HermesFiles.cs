using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Json;
using Parquet;
using Parquet.Serialization;

namespace FunctionGemma.Storage.Hermes;

/// <summary>How a Hermes data file is encoded.</summary>
public enum HermesFileFormat
{
    /// <summary>Apache Parquet with the dataset's columns (the Hub's format).</summary>
    Parquet,

    /// <summary>One JSON object per line with the dataset's columns.</summary>
    Jsonl,
}

/// <summary>A local file of raw Hermes rows.</summary>
/// <param name="Path">The file path.</param>
/// <param name="Format">Its encoding.</param>
public sealed record HermesFile(string Path, HermesFileFormat Format);

/// <summary>A raw row and its position in the files it was read from (0-based, across files in order).</summary>
/// <param name="Index">Row index in the source.</param>
/// <param name="Row">The raw row.</param>
public readonly record struct IndexedHermesRow(long Index, HermesRow Row);

/// <summary>
/// Reads and writes files in the column format of <c>interstellarninja/hermes_reasoning_tool_use</c>:
/// <c>conversations</c> (list of {from, value}), <c>tools</c> (JSON text), <c>task</c>, <c>category</c>, <c>source</c>,
/// <c>scenario_category</c>.
/// </summary>
public static class HermesFiles
{
    /// <summary>Columns a file must have for the cleaning rules to run.</summary>
    public static readonly IReadOnlyList<string> RequiredColumns = ["conversations", "tools", "task"];

    /// <summary>
    /// The files at a path: a <c>.parquet</c> or <c>.jsonl</c>/<c>.json</c> file, or a folder whose <c>*.parquet</c> files
    /// (recursively, in ordinal path order) form one dataset.
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing exists at the path, or a folder holds no parquet file.</exception>
    /// <exception cref="ArgumentException">The file's extension is not one of the formats.</exception>
    public static IReadOnlyList<HermesFile> Discover(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            var files = Directory.GetFiles(full, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new FileNotFoundException($"Folder '{path}' holds no *.parquet file.", path);
            return [.. files.Select(f => new HermesFile(f, HermesFileFormat.Parquet))];
        }
        if (!File.Exists(full)) throw new FileNotFoundException($"No file or folder '{path}'.", path);
        return [new HermesFile(full, FormatOf(full))];
    }

    /// <summary>The format a file's extension names.</summary>
    /// <exception cref="ArgumentException">Neither .parquet nor .jsonl/.json.</exception>
    public static HermesFileFormat FormatOf(string path) => System.IO.Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".parquet" => HermesFileFormat.Parquet,
        ".jsonl" or ".json" => HermesFileFormat.Jsonl,
        var ext => throw new ArgumentException($"'{path}' has extension '{ext}': expected .parquet or .jsonl.", nameof(path)),
    };

    /// <summary>Number of rows in the files (parquet: from the footer; JSONL: non-blank lines).</summary>
    /// <exception cref="ArgumentException">A file cannot be read as its format, or lacks a required column.</exception>
    public static async Task<long> CountRowsAsync(IReadOnlyList<HermesFile> files, CancellationToken ct = default)
    {
        long total = 0;
        foreach (var file in files)
        {
            if (file.Format == HermesFileFormat.Parquet)
            {
                await using var stream = File.OpenRead(file.Path);
                await using var reader = await OpenParquetAsync(stream, file.Path, ct);
                total += reader.RowGroups.Sum(g => g.RowCount);
            }
            else
            {
                using var text = File.OpenText(file.Path);
                while (await text.ReadLineAsync(ct) is { } line)
                    if (!string.IsNullOrWhiteSpace(line)) total++;
            }
        }
        return total;
    }

    /// <summary>
    /// The rows of the files in order; rows whose index <paramref name="keep"/> rejects are skipped without being built.
    /// </summary>
    /// <exception cref="ArgumentException">A file is unreadable, lacks a required column, or holds a line that is not a JSON object.</exception>
    public static async IAsyncEnumerable<IndexedHermesRow> ReadAsync(IReadOnlyList<HermesFile> files, Func<long, bool>? keep = null,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        long index = 0;
        foreach (var file in files)
        {
            if (file.Format == HermesFileFormat.Jsonl)
            {
                using var text = File.OpenText(file.Path);
                int lineNumber = 0;
                while (await text.ReadLineAsync(ct) is { } line)
                {
                    lineNumber++;
                    if (string.IsNullOrWhiteSpace(line)) continue;
                    if (keep is null || keep(index))
                    {
                        HermesRow row;
                        try { row = HermesRow.FromJson(line); }
                        catch (FormatException e) { throw new ArgumentException($"'{file.Path}' line {lineNumber}: {e.Message}", e); }
                        yield return new(index, row);
                    }
                    index++;
                }
                continue;
            }

            await using var stream = File.OpenRead(file.Path);
            int groups;
            long[] groupRows;
            await using (var reader = await OpenParquetAsync(stream, file.Path, ct))
            {
                groups = reader.RowGroupCount;
                groupRows = [.. reader.RowGroups.Select(g => g.RowCount)];
            }
            for (int g = 0; g < groups; g++)
            {
                ct.ThrowIfCancellationRequested();
                if (keep is not null && !Any(index, groupRows[g], keep)) { index += groupRows[g]; continue; }
                stream.Position = 0;
                IList<ParquetRow> rows;
                try { rows = (await ParquetSerializer.DeserializeAsync<ParquetRow>(stream, null, g, ct)).Data; }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw new ArgumentException($"'{file.Path}' row group {g} cannot be read as Hermes rows ({e.Message}). " +
                        "Expected columns conversations (list of {from, value}), tools, task (strings).", e);
                }
                foreach (var r in rows)
                {
                    if (keep is null || keep(index)) yield return new(index, r.ToHermesRow());
                    index++;
                }
            }
        }
    }

    /// <summary>Writes rows as a parquet file in the dataset's column format; a non-string <c>tools</c> value is stored as its JSON text.</summary>
    public static async Task WriteParquetAsync(IEnumerable<HermesRow> rows, string path, CancellationToken ct = default)
    {
        var records = rows.Select(ParquetRow.From).ToList();
        await using var stream = File.Create(path);
        await ParquetSerializer.SerializeAsync(records, stream, null, null, ct);
    }

    private static bool Any(long start, long count, Func<long, bool> keep)
    {
        for (long i = start; i < start + count; i++) if (keep(i)) return true;
        return false;
    }

    private static async Task<ParquetReader> OpenParquetAsync(Stream stream, string path, CancellationToken ct)
    {
        ParquetReader reader;
        try { reader = await ParquetReader.CreateAsync(stream, null, leaveStreamOpen: true, ct); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new ArgumentException($"'{path}' is not a readable parquet file: {e.Message}", e);
        }
        var columns = reader.Schema.Fields.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var missing = RequiredColumns.Where(c => !columns.Contains(c)).ToList();
        if (missing.Count > 0)
        {
            await reader.DisposeAsync();
            throw new ArgumentException($"'{path}' lacks column(s) {string.Join(", ", missing)}; it has {string.Join(", ", columns)}. " +
                "Expected the Hermes columns conversations, tools, task, category, source, scenario_category.");
        }
        return reader;
    }

    /// <summary>The parquet row shape: names follow the dataset's columns.</summary>
    internal sealed class ParquetRow
    {
        [JsonPropertyName("conversations")] public List<ParquetTurn>? Conversations { get; set; }
        [JsonPropertyName("tools")] public string? Tools { get; set; }
        [JsonPropertyName("task")] public string? Task { get; set; }
        [JsonPropertyName("category")] public string? Category { get; set; }
        [JsonPropertyName("source")] public string? Source { get; set; }
        [JsonPropertyName("scenario_category")] public string? ScenarioCategory { get; set; }

        public HermesRow ToHermesRow() => new(
            [.. (Conversations ?? []).Select(t => new HermesTurn(t.From, t.Value))],
            Tools is null ? null : JsonValue.Create(Tools),
            Task, Category, Source, ScenarioCategory);

        public static ParquetRow From(HermesRow row) => new()
        {
            Conversations = [.. row.Conversations.Select(t => new ParquetTurn { From = t.From, Value = t.Value })],
            Tools = row.Tools switch
            {
                null => null,
                JsonValue v when v.TryGetValue<string>(out var s) => s,
                var other => PythonJson.Dumps(other),
            },
            Task = row.Task,
            Category = row.Category,
            Source = row.Source,
            ScenarioCategory = row.ScenarioCategory,
        };
    }

    /// <summary>One element of the <c>conversations</c> list.</summary>
    internal sealed class ParquetTurn
    {
        [JsonPropertyName("from")] public string? From { get; set; }
        [JsonPropertyName("value")] public string? Value { get; set; }
    }
}
