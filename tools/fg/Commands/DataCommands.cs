using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Json;
using FunctionGemma.Core.Prompt;
using FunctionGemma.Core.Sampling;
using FunctionGemma.Core.Tokenizer;
using FunctionGemma.Storage.Hermes;
using Spectre.Console;

namespace FunctionGemma.Cli.Commands;

/// <summary><c>fg data …</c>: offline dataset tools that need no running service.</summary>
public static class DataCommands
{
    public static Command Create() => new("data", "Offline dataset tools: clean Hermes files, show a seeded split, convert JSONL to parquet")
    {
        Clean(),
        Split(),
        ToParquet(),
    };

    private static Command Clean()
    {
        var input = new Argument<string>("INPUT") { Description = "Hermes-format JSONL or parquet file (or a folder of parquet shards)" };
        var output = new Option<string>("--out") { Description = "Where to write the cleaned rows, one JSON object per line", Required = true };
        var text = new Option<bool>("--text") { Description = "Also write `text`: the full rendered training text (prompt + target)" };
        var tokens = new Option<bool>("--tokens") { Description = "Also write `input_ids`: `text` encoded by the FunctionGemma tokenizer without special tokens added" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json to use with --tokens (default: FunctionGemma's, derived from the fetched Gemma 3 tokenizer)" };
        var command = new Command("clean", "Apply the reference cleaning rules to every row; print the drop counts") { input, output, text, tokens, tokenizer };
        command.SetAction((parse, ct) => Run(parse, () => CleanAsync(parse.GetValue(input)!, parse.GetValue(output)!, parse.GetValue(text),
            parse.GetValue(tokens), parse.GetValue(tokenizer), ct)));
        return command;
    }

    private static Command Split()
    {
        var seed = new Option<ulong>("--seed") { Description = "Shuffle seed (numpy default_rng / HF datasets shuffle)", Required = true };
        var total = new Option<int>("--total") { Description = "Rows kept after shuffling", Required = true };
        var eval = new Option<int>("--eval") { Description = "How many of them (the last ones) form the eval split", Required = true };
        var rows = new Option<int>("--rows") { Description = "Rows in the source dataset", Required = true };
        var command = new Command("split", "Print the train and eval row indices a seeded subset selects, as JSON {\"train\":[...],\"eval\":[...]}") { seed, total, eval, rows };
        command.SetAction(parse => Run(parse, () =>
        {
            int n = parse.GetValue(rows), t = parse.GetValue(total), e = parse.GetValue(eval);
            if (n < 0) throw new ArgumentException($"--rows is {n}: it must be ≥ 0.");
            if (t < 0 || t > n) throw new ArgumentException($"--total is {t}: it must be between 0 and --rows ({n}).");
            if (e < 0 || e > t) throw new ArgumentException($"--eval is {e}: it must be between 0 and --total ({t}).");
            var split = SubsetSplit.Create(n, parse.GetValue(seed), t, t - e);
            parse.InvocationConfiguration.Output.WriteLine($"{{\"train\":[{string.Join(',', split.Train)}],\"eval\":[{string.Join(',', split.Eval)}]}}");
            return Task.FromResult(0);
        }));
        return command;
    }

    private static Command ToParquet()
    {
        var input = new Argument<string>("INPUT") { Description = "Hermes-format JSONL file" };
        var output = new Option<string>("--out") { Description = "The parquet file to write", Required = true };
        var command = new Command("to-parquet", "Convert Hermes JSONL to parquet with the dataset's columns (tools stored as JSON text)") { input, output };
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            var files = HermesFiles.Discover(parse.GetValue(input)!);
            var rows = new List<HermesRow>();
            await foreach (var r in HermesFiles.ReadAsync(files, null, ct)) rows.Add(r.Row);
            await HermesFiles.WriteParquetAsync(rows, parse.GetValue(output)!, ct);
            AnsiConsole.MarkupLineInterpolated($"Wrote [bold]{rows.Count}[/] rows to {parse.GetValue(output)}");
            return 0;
        }));
        return command;
    }

    private static async Task<int> CleanAsync(string input, string output, bool withText, bool withTokens, string? tokenizerPath, CancellationToken ct)
    {
        var files = HermesFiles.Discover(input);
        using var tokenizer = withTokens
            ? tokenizerPath is null ? GemmaTokenizer.LoadFunctionGemma() : GemmaTokenizer.FromFiles(tokenizerPath)
            : null;
        var drops = System.Enum.GetValues<DropReason>().ToDictionary(r => r, _ => 0);
        int read = 0, kept = 0;
        await using (var writer = new StreamWriter(output, false, new UTF8Encoding(false)) { NewLine = "\n" })
        {
            await foreach (var (_, row) in HermesFiles.ReadAsync(files, null, ct))
            {
                read++;
                var outcome = HermesCleaner.Clean(row);
                if (outcome.Row is not { } clean) { drops[outcome.Dropped!.Value]++; continue; }
                kept++;
                await writer.WriteLineAsync(Line(clean, withText || withTokens, withText, tokenizer));
            }
        }

        var table = new Table().AddColumn("outcome").AddColumn(new TableColumn("rows").RightAligned());
        table.AddRow("read", read.ToString());
        table.AddRow("[green]kept[/]", kept.ToString());
        foreach (var (reason, n) in drops) table.AddRow($"dropped: {reason}", n.ToString());
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"Wrote {kept} cleaned rows to {output}");
        return 0;
    }

    /// <summary>One output line: user_content, tool_name, tool_arguments, tools [, text] [, input_ids], Python json.dumps spelling.</summary>
    private static string Line(CleanRow row, bool render, bool withText, GemmaTokenizer? tokenizer)
    {
        var sb = new StringBuilder();
        sb.Append("{\"user_content\": ").Append(PythonJson.DumpsString(row.UserContent))
          .Append(", \"tool_name\": ").Append(PythonJson.DumpsString(row.ToolName))
          .Append(", \"tool_arguments\": ").Append(PythonJson.DumpsString(row.ToolArguments))
          .Append(", \"tools\": ").Append(PythonJson.Dumps(row.Tools));
        if (render)
        {
            var text = ReferencePrompt.For(row).Text;
            if (withText) sb.Append(", \"text\": ").Append(PythonJson.DumpsString(text));
            if (tokenizer is not null) sb.Append(", \"input_ids\": [").AppendJoin(", ", tokenizer.Encode(text, addBos: false)).Append(']');
        }
        return sb.Append('}').ToString();
    }

    private static async Task<int> Run(ParseResult parse, Func<Task<int>> action)
    {
        try { return await action(); }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException or FormatException)
        {
            parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
