using System.Text.Json.Nodes;
using FunctionGemma.Core.Prompt;

namespace FunctionGemma.Core.Tests.Prompt;

public class ChatTemplateConformanceTests
{
    private static readonly JsonArray Cases = Fixture.Load("template_cases.json")["cases"]!.AsArray();

    public static TheoryData<string> Names() => [.. Cases.Select(c => (string)c!["name"]!)];

    [Theory]
    [MemberData(nameof(Names))]
    public void Render_matches_the_jinja_template(string name)
    {
        var c = Cases.Single(x => (string)x!["name"]! == name)!;
        var messages = c["messages"]!.AsArray();
        var tools = c["tools"] as JsonArray;
        bool gen = (bool)c["add_generation_prompt"]!;
        if ((bool)c["error"]!)
        {
            Assert.Throws<ChatTemplateException>(() => ChatTemplate.Render(messages, tools, gen));
            return;
        }
        Assert.Equal((string)c["expected"]!, ChatTemplate.Render(messages, tools, gen));
    }
}
