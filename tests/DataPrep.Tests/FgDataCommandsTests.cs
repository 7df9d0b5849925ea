using System.CommandLine;
using System.Text.Json.Nodes;
using FunctionGemma.Cli.Commands;
using FunctionGemma.Core;
using FunctionGemma.Core.Json;

namespace FunctionGemma.DataPrep.Tests;

/// <summary>The offline <c>fg data</c> commands, invoked in-process through System.CommandLine as the console would.</summary>
public sealed class FgDataCommandsTests
{
    private static async Task<(int Code, string Output, string Error)> Fg(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await new RootCommand { DataCommands.Create() }.Parse(args)
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, TestContext.Current.CancellationToken);
        return (code, output.ToString(), error.ToString());
    }

    private static string CoreFixture(string name) => Path.Combine(RepoPaths.Root(), "tests", "FunctionGemma.Core.Tests", "Fixtures", name);

    [Fact]
    public async Task Split_prints_the_reference_subset_numpy_selects()
    {
        var (code, output, _) = await Fg("data", "split", "--seed", "40", "--total", "3000", "--eval", "300", "--rows", "51004");
        Assert.Equal(0, code);
        var json = (JsonObject)JsonNode.Parse(output)!;
        var train = json["train"]!.AsArray().Select(n => n!.GetValue<int>()).ToList();
        var eval = json["eval"]!.AsArray().Select(n => n!.GetValue<int>()).ToList();
        Assert.Equal(2700, train.Count);
        Assert.Equal(300, eval.Count);
        // numpy default_rng(40).permutation(51004)[:3000], from the Core fixtures made with numpy.
        var fixture = JsonNode.Parse(await File.ReadAllTextAsync(CoreFixture("permutations.json"), TestContext.Current.CancellationToken))!;
        var numpy = fixture["cases"]!.AsArray().Single(c => c!["seed"]!.GetValue<long>() == 40 && c["n"]!.GetValue<int>() == 51004)!["prefix"]!
            .AsArray().Select(n => n!.GetValue<int>());
        Assert.Equal(numpy, train.Concat(eval));
    }

    [Theory]
    [InlineData("--total", "60000", "--total")]
    [InlineData("--eval", "4000", "--eval")]
    public async Task Split_rejects_counts_out_of_range_naming_the_option(string option, string value, string named)
    {
        var args = new List<string> { "data", "split", "--seed", "1", "--total", "3000", "--eval", "300", "--rows", "51004" };
        args[args.IndexOf(option) + 1] = value;
        var (code, _, error) = await Fg([.. args]);
        Assert.Equal(2, code);
        Assert.Contains(named, error);
    }

    [Fact]
    public async Task Clean_with_text_writes_the_rows_and_training_texts_the_python_reference_produces()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = Path.Combine(Path.GetTempPath(), $"fg-clean-{Guid.NewGuid():N}.jsonl");
        try
        {
            var (code, _, error) = await Fg("data", "clean", SampleData.ParquetPath, "--out", output, "--text");
            Assert.True(code == 0, error);
            var lines = (await File.ReadAllLinesAsync(output, ct)).Select(l => (JsonObject)PythonJson.Loads(l)!).ToList();
            // Core's end-to-end fixture: Python reference cleaning + the real Jinja chat template over the same sample.
            var cases = JsonNode.Parse(await File.ReadAllTextAsync(CoreFixture("sample_cases.json"), ct))!.AsArray()
                .Select(c => c!["expected"]!.AsObject()).Where(e => e["kept"]!.GetValue<bool>()).ToList();
            Assert.Equal(cases.Count, lines.Count);
            for (int i = 0; i < lines.Count; i++)
            {
                Assert.Equal(["user_content", "tool_name", "tool_arguments", "tools", "text"], lines[i].Select(p => p.Key));
                Assert.Equal(cases[i]["user_content"]!.GetValue<string>(), lines[i]["user_content"]!.GetValue<string>());
                Assert.Equal(cases[i]["tool_name"]!.GetValue<string>(), lines[i]["tool_name"]!.GetValue<string>());
                Assert.Equal(cases[i]["tool_arguments"]!.GetValue<string>(), lines[i]["tool_arguments"]!.GetValue<string>());
                Assert.Equal(cases[i]["tools_json"]!.GetValue<string>(), PythonJson.Dumps(lines[i]["tools"]));
                Assert.Equal(cases[i]["text"]!.GetValue<string>(), lines[i]["text"]!.GetValue<string>());
            }
        }
        finally { File.Delete(output); }
    }

    [Fact]
    public async Task Clean_of_a_missing_file_fails_with_its_name()
    {
        var (code, _, error) = await Fg("data", "clean", "/nonexistent/rows.jsonl", "--out", Path.Combine(Path.GetTempPath(), "never.jsonl"));
        Assert.Equal(2, code);
        Assert.Contains("/nonexistent/rows.jsonl", error);
    }
}
