using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FunctionGemma.Core.Json;

namespace FunctionGemma.Core.Hermes;

/// <summary>A gold call found in a Hermes conversation: the parsed <c>&lt;tool_call&gt;</c> object.</summary>
/// <param name="Name">The call's <c>name</c> value (any JSON; normally a string).</param>
/// <param name="Arguments">The call's <c>arguments</c> value (any JSON; normally an object).</param>
/// <param name="TurnIndex">Index of the assistant turn it came from.</param>
public sealed record GoldCall(JsonNode? Name, JsonNode? Arguments, int TurnIndex);

/// <summary>Reference rule 4: the task-aligned gold tool call of a conversation.</summary>
public static partial class GoldCallExtractor
{
    /// <summary>
    /// Finds the first human/user turn matching the task (equal, containing or contained, after trimming; an empty
    /// task matches nothing), else the last human/user turn; then the first assistant turn before the next human turn
    /// whose first <c>&lt;tool_call&gt;{…}&lt;/tool_call&gt;</c> block parses as an object with <c>name</c> and <c>arguments</c>.
    /// </summary>
    public static GoldCall? Find(IReadOnlyList<HermesTurn> turns, string? task)
    {
        var taskText = PythonText.Strip(task ?? "");
        int start = -1;
        if (taskText.Length > 0)
        {
            for (int i = 0; i < turns.Count && start < 0; i++)
            {
                if (!IsUser(turns[i])) continue;
                var v = PythonText.Strip(turns[i].Value ?? "");
                if (v == taskText || v.Contains(taskText, StringComparison.Ordinal) || taskText.Contains(v, StringComparison.Ordinal)) start = i;
            }
        }
        if (start < 0)
            for (int i = turns.Count - 1; i >= 0 && start < 0; i--)
                if (IsUser(turns[i])) start = i;
        if (start < 0) return null;

        for (int j = start + 1; j < turns.Count; j++)
        {
            var role = RoleOf(turns[j]);
            if (role is "human" or "user") break;
            if (role is not ("gpt" or "assistant" or "model")) continue;
            var m = ToolCallBlock().Match(turns[j].Value ?? "");
            if (!m.Success) continue;
            if (!PythonJson.TryLoads(m.Groups[1].Value, out var parsed)) continue;
            if (parsed is JsonObject call && call.ContainsKey("name") && call.ContainsKey("arguments"))
                return new GoldCall(call["name"]?.DeepClone(), call["arguments"]?.DeepClone(), j);
        }
        return null;
    }

    /// <summary>The role lower-cased and trimmed, as the rules compare it.</summary>
    public static string RoleOf(HermesTurn turn) => PythonText.Lower(PythonText.Strip(turn.From ?? ""));

    private static bool IsUser(HermesTurn turn) => RoleOf(turn) is "human" or "user";

    // Python's \s also covers \x1c-\x1f.
    [GeneratedRegex(@"<tool_call>[\s\x1c-\x1f]*(\{.*?\})[\s\x1c-\x1f]*</tool_call>", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex ToolCallBlock();
}
