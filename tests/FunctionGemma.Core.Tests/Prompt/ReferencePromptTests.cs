using System.Text.Json.Nodes;
using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Prompt;

namespace FunctionGemma.Core.Tests.Prompt;

public class ReferencePromptTests
{
    [Fact]
    public void Training_text_matches_the_recipe_example_byte_for_byte()
    {
        const string Expected = "<bos><start_of_turn>developer\nYou are a model that can do function calling with the following functions<start_function_declaration>declaration:get_water_quality{description:<escape>Retrieve water quality information<escape>,parameters:{properties:{location:{description:<escape>The location for which you want to get the water quality (e.g., river, lake, beach)<escape>,type:<escape>STRING<escape>}},required:[<escape>location<escape>],type:<escape>DICT<escape>}}<end_function_declaration><end_of_turn>\n<start_of_turn>user\nCan you provide the current water quality at Zuma Beach?<end_of_turn>\n<start_of_turn>model\n<start_function_call>call:get_water_quality{args:<escape>{\"location\": \"Zuma Beach\"}<escape>}<end_function_call>";
        var row = HermesRow.FromJson("""
            {"conversations": [
              {"from": "system", "value": "You are a deep thinking AI ... <tool_call>\n{\"name\": <function-name>, \"arguments\": <args-dict>}\n</tool_call>"},
              {"from": "human", "value": "Can you provide the current water quality at Zuma Beach?\n\n"},
              {"from": "gpt", "value": "<think>\nThe user wants water quality.\n</think>\n<tool_call>\n{\"name\":\"get_water_quality\",\"arguments\":{\"location\":\"Zuma Beach\"}}\n</tool_call>"}],
             "tools": "[{\"name\": \"get_water_quality\", \"description\": \"Retrieve water quality information\", \"parameters\": {\"type\": \"dict\", \"properties\": {\"location\": {\"type\": \"string\", \"description\": \"The location for which you want to get the water quality (e.g., river, lake, beach)\"}}, \"required\": [\"location\"]}, \"required\": null}]",
             "task": "Can you provide the current water quality at Zuma Beach?", "category": "Environment", "source": "ToolAce", "scenario_category": "single"}
            """);
        var outcome = HermesCleaner.Clean(row);
        Assert.True(outcome.Kept);
        Assert.Equal(Expected, ReferencePrompt.For(outcome.Row!).Text);
    }

    [Fact]
    public void Prompt_ends_with_the_generation_prompt_and_target_with_the_call()
    {
        var example = ReferencePrompt.For(new CleanRow("Hi", "f", "{}", new JsonArray()));
        Assert.EndsWith("<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n", example.Prompt);
        Assert.Equal("<start_function_call>call:f{args:<escape>{}<escape>}<end_function_call>", example.Target);
    }
}
