using System.Text.Json.Nodes;
using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Json;
using FunctionGemma.Core.Prompt;

namespace FunctionGemma.Core.Tests.Hermes;

public class HermesCleanerConformanceTests
{
    private static readonly JsonArray Cases = Fixture.Load("clean_cases.json").AsArray();

    public static TheoryData<string> Names() => [.. Cases.Select(c => (string)c!["name"]!)];

    [Theory]
    [MemberData(nameof(Names))]
    public void Cleaning_matches_the_python_reference(string name)
    {
        var c = Cases.Single(x => (string)x!["name"]! == name)!;
        var expected = c["expected"]!;
        var outcome = HermesCleaner.Clean(HermesRow.FromJson((string)c["row_json"]!));
        if ((bool)expected["kept"]!)
        {
            Assert.True(outcome.Kept, $"dropped as {outcome.Dropped}");
            Assert.Equal((string)expected["user_content"]!, outcome.Row!.UserContent);
            Assert.Equal((string)expected["tool_name"]!, outcome.Row.ToolName);
            Assert.Equal((string)expected["tool_arguments"]!, outcome.Row.ToolArguments);
            Assert.Equal((string)expected["tools_json"]!, PythonJson.Dumps(outcome.Row.Tools));
            if (expected["text"] is JsonValue text) Assert.Equal((string)text!, ReferencePrompt.For(outcome.Row).Text);
            if (expected["text_error"] is not null) Assert.Throws<ChatTemplateException>(() => ReferencePrompt.For(outcome.Row));
        }
        else
        {
            Assert.False(outcome.Kept);
            Assert.Equal((string)expected["drop"]!, outcome.Dropped.ToString());
        }
    }
}
