using System.Text.Json.Nodes;
using FunctionGemma.Core.Calls;
using FunctionGemma.Core.Prompt;

namespace FunctionGemma.Core.Tests.Prompt;

public class ChatMessagesTests
{
    [Fact]
    public void Built_messages_render_the_cookbook_sequence()
    {
        // google-gemini/gemma-cookbook full-function-calling-sequence output (functiongemma-format.md F1), first fixture case
        var c = Fixture.Load("template_cases.json")["cases"]!.AsArray().Single(x => (string)x!["name"]! == "cookbook_full_sequence")!;
        var messages = new JsonArray(
            ChatMessages.Developer(ChatTemplate.DefaultDeveloperText),
            ChatMessages.User("Hey, what's the weather in Tokyo right now?"),
            ChatMessages.AssistantToolCalls([new FunctionCall("get_current_weather", new JsonObject { ["location"] = "Tokyo, Japan" })]),
            ChatMessages.ToolResponse("get_current_weather", new JsonObject { ["temperature"] = 15, ["weather"] = "sunny" }),
            ChatMessages.Assistant("The current weather in Tokyo is sunny with a temperature of 15 degrees Celsius."));
        Assert.Equal((string)c["expected"]!, ChatTemplate.Render(messages, (JsonArray)c["tools"]!.DeepClone(), addGenerationPrompt: false));
    }
}
