using System.Text.Json.Nodes;
using FunctionGemma.Core.Calls;
using FunctionGemma.Core.Hermes;

namespace FunctionGemma.Core.Prompt;

/// <summary>A training/eval example in the recipe's format.</summary>
/// <param name="Prompt">The rendered chat: developer sentence + tool declarations, user task, generation prompt.</param>
/// <param name="Target">The gold call in the reference form.</param>
public sealed record ReferenceExample(string Prompt, string Target)
{
    /// <summary>The full training text: prompt followed by target.</summary>
    public string Text => Prompt + Target;
}

/// <summary>The recipe's prompt and target ("Prompt and target" in recipe.md).</summary>
public static class ReferencePrompt
{
    /// <summary>The developer turn's text.</summary>
    public const string DeveloperText = ChatTemplate.DefaultDeveloperText;

    /// <summary>The two messages of a prompt: developer sentence, then the user task.</summary>
    public static JsonArray Messages(string userContent) =>
    [
        new JsonObject { ["role"] = "developer", ["content"] = DeveloperText },
        new JsonObject { ["role"] = "user", ["content"] = userContent },
    ];

    /// <summary>The prompt: the chat template over developer + user with the tools declared and the generation prompt added.</summary>
    public static string Prompt(string userContent, JsonArray tools) =>
        ChatTemplate.Render(Messages(userContent), tools, addGenerationPrompt: true);

    /// <summary>The target: <c>&lt;start_function_call&gt;call:NAME{args:&lt;escape&gt;ARGS_JSON&lt;escape&gt;}&lt;end_function_call&gt;</c>.</summary>
    public static string Target(string toolName, string toolArgumentsJson) => FunctionCallFormat.RenderReference(toolName, toolArgumentsJson);

    /// <summary>The prompt and target of a clean row.</summary>
    public static ReferenceExample For(CleanRow row) => new(Prompt(row.UserContent, row.Tools), Target(row.ToolName, row.ToolArguments));
}
