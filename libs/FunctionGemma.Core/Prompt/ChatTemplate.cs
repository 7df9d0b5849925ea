using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FunctionGemma.Core.Json;

namespace FunctionGemma.Core.Prompt;

/// <summary>The template refused its input, as the Jinja template's <c>raise_exception</c> or a Jinja type error would.</summary>
public sealed class ChatTemplateException(string message) : Exception(message);

/// <summary>
/// FunctionGemma's chat template (google/functiongemma-270m-it), rendered byte for byte as transformers'
/// <c>apply_chat_template</c> renders the Jinja original — including its quirks (skipped property names, unclosed
/// parameters without a type, string arguments indented by 20 spaces, <c>None</c> for null). Messages and tools are the
/// JSON shapes transformers takes: <c>{"role", "content", "tool_calls", "name"}</c> and
/// <c>{"type": "function", "function": {name, description, parameters}}</c>. Not a Jinja engine: this one template only.
/// </summary>
public static class ChatTemplate
{
    /// <summary>The developer text the template uses when tools are given without a system/developer message.</summary>
    public const string DefaultDeveloperText = "You are a model that can do function calling with the following functions";

    private static readonly string[] StandardKeys = ["description", "type", "properties", "required", "nullable"];

    /// <summary>Renders a conversation.</summary>
    /// <param name="messages">The messages (a non-empty JSON array of message objects).</param>
    /// <param name="tools">The tools in JSON-schema form, or null.</param>
    /// <param name="addGenerationPrompt">Append <c>&lt;start_of_turn&gt;model\n</c> unless a tool response is last.</param>
    /// <param name="bosToken">The BOS text the template starts with.</param>
    /// <exception cref="ChatTemplateException">The template itself would raise on this input.</exception>
    public static string Render(JsonArray messages, JsonArray? tools, bool addGenerationPrompt, string bosToken = "<bos>")
    {
        if (messages.Count == 0) throw new ChatTemplateException("messages is empty: the template reads messages[0]['role'].");
        var sb = new StringBuilder(bosToken);
        var first = messages[0];
        var firstRole = Get(first, "role");
        bool firstIsDeveloper = firstRole.Defined && IsString(firstRole.Value, out var fr) && fr is "system" or "developer";
        int startAt = 0;
        if (PythonText.Truthy(tools) || firstIsDeveloper)
        {
            sb.Append("<start_of_turn>developer\n");
            if (firstIsDeveloper)
            {
                var content = Get(first, "content");
                if (content.Defined && IsString(content.Value, out var text)) sb.Append(PythonText.Strip(text));
                else if (content.Defined && IsSequence(content.Value))
                    foreach (var item in Iterate(content.Value))
                        if (IsEqual(Get(item, "type"), "text")) sb.Append(PythonText.Strip(StrOrEmpty(Get(item, "text"))));
                startAt = 1;
            }
            else sb.Append(DefaultDeveloperText);
            if (tools is not null)
                foreach (var tool in tools)
                    sb.Append("<start_function_declaration>").Append(PythonText.Strip(FunctionDeclaration(tool))).Append("<end_function_declaration>");
            sb.Append("<end_of_turn>\n");
        }

        string? prev = null;
        for (int m = startAt; m < messages.Count; m++)
        {
            var message = messages[m];
            bool isLast = m == messages.Count - 1;
            var roleV = Get(message, "role");
            string? role = roleV.Defined && IsString(roleV.Value, out var r) ? (r == "assistant" ? "model" : r) : null;
            if (role != "tool")
            {
                if (prev != "tool_response")
                {
                    if (role is null) throw new ChatTemplateException($"Message {m} has no string 'role' (the template concatenates it into the turn header).");
                    sb.Append("<start_of_turn>").Append(role).Append('\n');
                }
                prev = null;
                var content = Get(message, "content");
                if (content.Defined && content.Value is not null)
                {
                    if (IsString(content.Value, out var text)) sb.Append(PythonText.Strip(text));
                    else if (IsSequence(content.Value))
                    {
                        foreach (var item in Iterate(content.Value))
                        {
                            var type = Get(item, "type");
                            if (IsEqual(type, "image")) sb.Append("<start_of_image>");
                            else if (IsEqual(type, "text")) sb.Append(PythonText.Strip(StrOrEmpty(Get(item, "text"))));
                        }
                    }
                    else throw new ChatTemplateException("Invalid content type in user/assistant message");
                    prev = "content";
                }
                var calls = Get(message, "tool_calls");
                if (calls.Defined && PythonText.Truthy(calls.Value) && (calls.Value is JsonArray or JsonObject || IsString(calls.Value, out _)))
                {
                    foreach (var call in Iterate(calls.Value))
                    {
                        var function = Get(call, "function");
                        var name = function.Defined ? Get(function.Value, "name") : Undefined;
                        if (!function.Defined || !name.Defined || !IsString(name.Value, out var fname))
                            throw new ChatTemplateException($"Message {m} has a tool call without function.name (a string).");
                        sb.Append("<start_function_call>call:").Append(fname).Append('{');
                        var args = Get(function.Value, "arguments");
                        if (args.Defined)
                        {
                            if (args.Value is JsonObject argObject) AppendSortedPairs(sb, argObject);
                            else if (IsString(args.Value, out var argText)) sb.Append(' ', 20).Append(argText);
                        }
                        sb.Append("}<end_function_call>");
                    }
                    if (isLast) sb.Append("<start_function_response>");
                    prev = "tool_call";
                }
            }
            else
            {
                var content = Get(message, "content");
                if (content.Defined && PythonText.Truthy(content.Value)) AppendToolResponses(sb, message, content.Value!);
                prev = "tool_response";
            }
            if (prev is not ("tool_call" or "tool_response")) sb.Append("<end_of_turn>\n");
        }
        if (addGenerationPrompt && prev != "tool_response") sb.Append("<start_of_turn>model\n");
        return sb.ToString();
    }

    private static void AppendToolResponses(StringBuilder sb, JsonNode? message, JsonNode content)
    {
        var messageName = Get(message, "name");
        switch (content)
        {
            case JsonObject o when o.ContainsKey("name") && o.ContainsKey("response"):
                AppendResponse(sb, o["name"], o["response"]);
                break;
            case JsonObject o when messageName.Defined:
                AppendResponse(sb, messageName.Value, o);
                break;
            case JsonObject:
                throw new ChatTemplateException("Invalid tool response mapping: must contain 'name' and 'response' keys, or 'name' must be in the message.");
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                if (!messageName.Defined) throw new ChatTemplateException("Invalid tool response: 'name' must be provided.");
                sb.Append("<start_function_response>response:").Append(PythonText.Strip(PythonText.Str(messageName.Value)))
                  .Append("{value:").Append(FormatArgument(v, escapeKeys: false)).Append("}<end_function_response>");
                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    if (item is not JsonObject io) throw new ChatTemplateException("Invalid tool response message: multiple responses must all be mappings");
                    if (io.ContainsKey("name") && io.ContainsKey("response")) AppendResponse(sb, io["name"], io["response"]);
                    else if (messageName.Defined) AppendResponse(sb, messageName.Value, io);
                    else throw new ChatTemplateException("Invalid tool response mapping: must contain 'name' and 'response' keys, or 'name' must be in the message.");
                }
                break;
            default:
                throw new ChatTemplateException("Invalid content type in tool message: must be mapping, sequence of mappings, or string.");
        }
    }

    private static void AppendResponse(StringBuilder sb, JsonNode? name, JsonNode? response)
    {
        sb.Append("<start_function_response>response:").Append(PythonText.Strip(PythonText.Str(name))).Append('{');
        if (response is not JsonObject ro) throw new ChatTemplateException("A tool response must be a mapping (the template dictsorts it).");
        AppendSortedPairs(sb, ro);
        sb.Append("}<end_function_response>");
    }

    // key:value pairs with bare keys in Jinja dictsort order, as tool-call arguments and responses render.
    private static void AppendSortedPairs(StringBuilder sb, JsonObject obj)
    {
        bool first = true;
        foreach (var (k, v) in DictSort(obj))
        {
            if (!first) sb.Append(',');
            first = false;
            sb.Append(k).Append(':').Append(FormatArgument(v, escapeKeys: false));
        }
    }

    /// <summary>The template's <c>format_function_declaration</c> for one tool (without the surrounding tokens).</summary>
    public static string FunctionDeclaration(JsonNode? tool)
    {
        var function = Get(tool, "function");
        if (!function.Defined) throw new ChatTemplateException("A tool must be {\"type\": \"function\", \"function\": {...}}: the template reads tool['function'].");
        var sb = new StringBuilder("declaration:");
        sb.Append(StrOrEmpty(Get(function.Value, "name")));
        sb.Append("{description:<escape>").Append(StrOrEmpty(Get(function.Value, "description"))).Append("<escape>");
        var parameters = Get(function.Value, "parameters");
        if (parameters.Defined && PythonText.Truthy(parameters.Value))
        {
            var p = parameters.Value;
            sb.Append(",parameters:{");
            var props = Get(p, "properties");
            if (props.Defined && PythonText.Truthy(props.Value))
                sb.Append("properties:{").Append(FormatParameters(props.Value)).Append("},");
            var required = Get(p, "required");
            if (required.Defined && PythonText.Truthy(required.Value))
            {
                sb.Append("required:[");
                AppendEscapedItems(sb, required.Value);
                sb.Append("],");
            }
            var type = Get(p, "type");
            if (type.Defined && PythonText.Truthy(type.Value))
                sb.Append("type:<escape>").Append(PythonText.Upper(PythonText.Str(type.Value))).Append("<escape>}");
        }
        sb.Append('}');
        return sb.ToString();
    }

    private static string FormatParameters(JsonNode? properties)
    {
        var sb = new StringBuilder();
        bool first = true;
        foreach (var (key, value) in DictSort(properties))
        {
            if (StandardKeys.Contains(key)) continue;
            if (!first) sb.Append(',');
            first = false;
            sb.Append(key).Append(":{description:<escape>").Append(StrOrEmpty(Get(value, "description"))).Append("<escape>");
            var typeUpper = PythonText.Upper(StrOrEmpty(Get(value, "type")));
            if (typeUpper == "STRING")
            {
                var en = Get(value, "enum");
                if (en.Defined && PythonText.Truthy(en.Value)) sb.Append(",enum:").Append(FormatArgument(en.Value, escapeKeys: true));
            }
            else if (typeUpper == "OBJECT")
            {
                sb.Append(",properties:{");
                var inner = Get(value, "properties");
                if (inner.Defined && inner.Value is JsonObject) sb.Append(FormatParameters(inner.Value));
                else if (value is JsonObject) sb.Append(FormatParameters(value));
                sb.Append('}');
                var req = Get(value, "required");
                if (req.Defined && PythonText.Truthy(req.Value))
                {
                    sb.Append(",required:[");
                    AppendEscapedItems(sb, req.Value);
                    sb.Append(']');
                }
            }
            else if (typeUpper == "ARRAY")
            {
                var items = Get(value, "items");
                if (items.Defined && items.Value is JsonObject itemsObj && itemsObj.Count > 0)
                {
                    sb.Append(",items:{");
                    bool firstItem = true;
                    foreach (var (itemKey, itemValue) in DictSort(itemsObj))
                    {
                        if (itemValue is null) continue;
                        if (!firstItem) sb.Append(',');
                        firstItem = false;
                        if (itemKey == "properties")
                        {
                            sb.Append("properties:{");
                            if (itemValue is JsonObject) sb.Append(FormatParameters(itemValue));
                            sb.Append('}');
                        }
                        else if (itemKey == "required")
                        {
                            sb.Append("required:[");
                            AppendEscapedItems(sb, itemValue);
                            sb.Append(']');
                        }
                        else if (itemKey == "type")
                        {
                            if (IsString(itemValue, out var t)) sb.Append("type:").Append(FormatArgument(JsonValue.Create(PythonText.Upper(t)), escapeKeys: true));
                            else
                            {
                                var upper = new JsonArray();
                                foreach (var x in Iterate(itemValue)) upper.Add(PythonText.Upper(PythonText.Str(x)));
                                sb.Append("type:").Append(FormatArgument(upper, escapeKeys: true));
                            }
                        }
                        else sb.Append(itemKey).Append(':').Append(FormatArgument(itemValue, escapeKeys: true));
                    }
                    sb.Append('}');
                }
            }
            sb.Append(",type:<escape>").Append(typeUpper).Append("<escape>}");
        }
        return sb.ToString();
    }

    // Jinja iterates a list's items, a string's characters and a dict's keys.
    private static void AppendEscapedItems(StringBuilder sb, JsonNode? sequence)
    {
        bool first = true;
        foreach (var item in Iterate(sequence))
        {
            if (!first) sb.Append(',');
            first = false;
            sb.Append("<escape>").Append(PythonText.Str(item)).Append("<escape>");
        }
    }

    /// <summary>The template's <c>format_argument</c>: strings in <c>&lt;escape&gt;</c>, true/false, sorted dicts, lists, Python <c>str()</c> for the rest.</summary>
    public static string FormatArgument(JsonNode? argument, bool escapeKeys)
    {
        var sb = new StringBuilder();
        AppendArgument(sb, argument, escapeKeys);
        return sb.ToString();
    }

    private static void AppendArgument(StringBuilder sb, JsonNode? argument, bool escapeKeys)
    {
        switch (argument)
        {
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                sb.Append("<escape>").Append(v.GetValue<string>()).Append("<escape>");
                break;
            case JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                sb.Append(v.GetValueKind() == JsonValueKind.True ? "true" : "false");
                break;
            case JsonObject o:
                sb.Append('{');
                bool first = true;
                foreach (var (k, val) in DictSort(o))
                {
                    if (!first) sb.Append(',');
                    first = false;
                    if (escapeKeys) sb.Append("<escape>").Append(k).Append("<escape>");
                    else sb.Append(k);
                    sb.Append(':');
                    AppendArgument(sb, val, escapeKeys);
                }
                sb.Append('}');
                break;
            case JsonArray a:
                sb.Append('[');
                for (int i = 0; i < a.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    AppendArgument(sb, a[i], escapeKeys);
                }
                sb.Append(']');
                break;
            default:
                sb.Append(PythonText.Str(argument));
                break;
        }
    }

    /// <summary>Jinja <c>dictsort</c>: by key, case-insensitively (Python <c>lower()</c>, code-point order), stable.</summary>
    public static IEnumerable<KeyValuePair<string, JsonNode?>> DictSort(JsonNode? mapping)
    {
        if (mapping is not JsonObject o) throw new ChatTemplateException($"dictsort needs a mapping, got {PythonText.Repr(mapping)}.");
        return o.Select(p => (Key: PythonText.Lower(p.Key), Pair: p))
                .OrderBy(x => x.Key, Comparer<string>.Create(PythonText.CompareCodePoints))
                .Select(x => x.Pair)
                .ToList();
    }

    // A Jinja lookup result: undefined unless the value is a dict holding the key.
    private readonly record struct Lookup(bool Defined, JsonNode? Value);

    private static readonly Lookup Undefined = new(false, null);

    private static Lookup Get(JsonNode? obj, string key) =>
        obj is JsonObject o && o.TryGetPropertyValue(key, out var v) ? new Lookup(true, v) : Undefined;

    private static string StrOrEmpty(Lookup l) => l.Defined ? PythonText.Str(l.Value) : "";

    private static bool IsEqual(Lookup l, string s) => l.Defined && IsString(l.Value, out var t) && t == s;

    private static bool IsString(JsonNode? n, out string s)
    {
        if (n is JsonValue v && v.GetValueKind() == JsonValueKind.String) { s = v.GetValue<string>(); return true; }
        s = "";
        return false;
    }

    // Jinja's "sequence" test: lists, strings and dicts.
    private static bool IsSequence(JsonNode? n) => n is JsonArray or JsonObject || IsString(n, out _);

    private static IEnumerable<JsonNode?> Iterate(JsonNode? n) => n switch
    {
        JsonArray a => a,
        JsonObject o => o.Select(p => (JsonNode?)JsonValue.Create(p.Key)),
        JsonValue v when v.GetValueKind() == JsonValueKind.String =>
            PythonText.CodePoints(v.GetValue<string>()).Select(cp => (JsonNode?)JsonValue.Create(cp <= 0xFFFF ? ((char)cp).ToString() : char.ConvertFromUtf32(cp))),
        _ => throw new ChatTemplateException($"The template iterates {PythonText.Repr(n)}, which is not iterable."),
    };
}
