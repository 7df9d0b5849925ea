using System.Text.Json.Nodes;
using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Prompt;

namespace FunctionGemma.Core.Tests.Hermes;

public class SampleRowsConformanceTests
{
    private static readonly JsonArray Cases = Fixture.Load("sample_cases.json").AsArray();

    public static TheoryData<int> Lines() => [.. Cases.Select(c => (int)c!["line"]!)];

    [Theory]
    [MemberData(nameof(Lines))]
    public void Sample_row_cleans_and_renders_like_the_python_reference_and_jinja_template(int line)
    {
        var c = Cases.Single(x => (int)x!["line"]! == line)!;
        var expected = c["expected"]!;
        var outcome = HermesCleaner.Clean(HermesRow.FromJson((string)c["row_json"]!));
        if (!(bool)expected["kept"]!)
        {
            Assert.Equal((string)expected["drop"]!, outcome.Dropped.ToString());
            return;
        }
        Assert.True(outcome.Kept, $"dropped as {outcome.Dropped}");
        Assert.Equal((string)expected["tool_arguments"]!, outcome.Row!.ToolArguments);
        Assert.Equal((string)expected["text"]!, ReferencePrompt.For(outcome.Row).Text);
    }
}
