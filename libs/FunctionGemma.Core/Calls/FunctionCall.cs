using System.Text.Json.Nodes;

namespace FunctionGemma.Core.Calls;

/// <summary>A function call: a tool name and its arguments object.</summary>
/// <param name="Name">The tool name.</param>
/// <param name="Arguments">The arguments (keys in the order given or parsed).</param>
public sealed record FunctionCall(string Name, JsonObject Arguments);

/// <summary>How a call's arguments are written inside <c>call:NAME{…}</c>.</summary>
public enum CallForm
{
    /// <summary>The recipe's training target: <c>{args:&lt;escape&gt;{JSON}&lt;escape&gt;}</c>.</summary>
    Reference,

    /// <summary>FunctionGemma's own grammar: <c>{key:&lt;escape&gt;s&lt;escape&gt;,n:1,flag:true,obj:{…},list:[…]}</c>.</summary>
    Native,
}

/// <summary>One call read from model output.</summary>
/// <param name="Name">The name after <c>call:</c> (possibly empty when garbled).</param>
/// <param name="Arguments">What could be read of the arguments; empty when nothing could.</param>
/// <param name="Form">The form the arguments were written in.</param>
/// <param name="Problem">Null when the call is well formed; otherwise what is wrong (truncated, invalid JSON, ...).</param>
public sealed record ParsedCall(string Name, JsonObject Arguments, CallForm Form, string? Problem)
{
    /// <summary>True when the call parsed without any problem.</summary>
    public bool IsWellFormed => Problem is null;

    /// <summary>The call without parse details.</summary>
    public FunctionCall ToCall() => new(Name, Arguments);
}

/// <summary>Everything read from one model output.</summary>
/// <param name="Content">Text before the first <c>&lt;start_function_call&gt;</c> (the whole text when there is no call).</param>
/// <param name="Calls">The calls in order (parallel calls back to back).</param>
public sealed record CallParseResult(string Content, IReadOnlyList<ParsedCall> Calls)
{
    /// <summary>The first problem of any call, or null when all calls are well formed.</summary>
    public string? Problem => Calls.Select(c => c.Problem).FirstOrDefault(p => p is not null);
}
