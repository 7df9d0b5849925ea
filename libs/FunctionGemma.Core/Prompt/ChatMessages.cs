using System.Text.Json.Nodes;
using FunctionGemma.Core.Calls;

namespace FunctionGemma.Core.Prompt;

/// <summary>Builds the message objects <see cref="ChatTemplate"/> renders, in the shapes transformers takes.</summary>
public static class ChatMessages
{
    /// <summary>A developer (system) message.</summary>
    public static JsonObject Developer(string content) => new() { ["role"] = "developer", ["content"] = content };

    /// <summary>A user message.</summary>
    public static JsonObject User(string content) => new() { ["role"] = "user", ["content"] = content };

    /// <summary>An assistant text message.</summary>
    public static JsonObject Assistant(string content) => new() { ["role"] = "assistant", ["content"] = content };

    /// <summary>An assistant message carrying tool calls (rendered back to back in the native form).</summary>
    public static JsonObject AssistantToolCalls(IEnumerable<FunctionCall> calls) => new()
    {
        ["role"] = "assistant",
        ["tool_calls"] = new JsonArray([.. calls.Select(c => (JsonNode)new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments.DeepClone() },
        })]),
    };

    /// <summary>A tool message with one response: <c>{"name", "response"}</c>.</summary>
    public static JsonObject ToolResponse(string name, JsonObject response) => new()
    {
        ["role"] = "tool",
        ["content"] = new JsonObject { ["name"] = name, ["response"] = response.DeepClone() },
    };
}
