using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FunctionGemma.Core.Json;
using FunctionGemma.Core.Prompt;

namespace FunctionGemma.Core.Calls;

/// <summary>Renders and parses FunctionGemma function calls in the reference and the native form.</summary>
public static partial class FunctionCallFormat
{
    /// <summary>Opens a call.</summary>
    public const string StartCall = "<start_function_call>";

    /// <summary>Closes a call.</summary>
    public const string EndCall = "<end_function_call>";

    /// <summary>Delimits strings (opens and closes).</summary>
    public const string Escape = "<escape>";

    /// <summary>The token the model emits after its calls, expecting the host's response.</summary>
    public const string StartResponse = "<start_function_response>";

    /// <summary>The recipe's target: <c>&lt;start_function_call&gt;call:NAME{args:&lt;escape&gt;ARGS_JSON&lt;escape&gt;}&lt;end_function_call&gt;</c>.</summary>
    public static string RenderReference(string name, string argumentsJson) =>
        $"{StartCall}call:{name}{{args:{Escape}{argumentsJson}{Escape}}}{EndCall}";

    /// <summary>The reference form with the arguments written as Python <c>json.dumps(ensure_ascii=False)</c>.</summary>
    public static string RenderReference(FunctionCall call) => RenderReference(call.Name, PythonJson.Dumps(call.Arguments));

    /// <summary>The native form exactly as the chat template renders an assistant tool call (keys in Jinja dictsort order, null as None).</summary>
    public static string RenderNative(FunctionCall call)
    {
        var sb = new StringBuilder(StartCall).Append("call:").Append(call.Name).Append('{');
        bool first = true;
        foreach (var (k, v) in ChatTemplate.DictSort(call.Arguments))
        {
            if (!first) sb.Append(',');
            first = false;
            sb.Append(k).Append(':').Append(ChatTemplate.FormatArgument(v, escapeKeys: false));
        }
        return sb.Append('}').Append(EndCall).ToString();
    }

    /// <summary>Parallel calls in the native form, back to back.</summary>
    public static string RenderNative(IEnumerable<FunctionCall> calls) => string.Concat(calls.Select(RenderNative));

    /// <summary>
    /// Reads every call in model output, in either form; garbled or truncated text yields what could be read and a
    /// problem per call. Never throws.
    /// </summary>
    public static CallParseResult Parse(string? text)
    {
        text ??= "";
        int firstCall = text.IndexOf(StartCall, StringComparison.Ordinal);
        if (firstCall < 0) return new(text, []);
        var calls = new List<ParsedCall>();
        int pos = firstCall;
        while (pos >= 0 && pos < text.Length)
        {
            int bodyStart = pos + StartCall.Length;
            int next;
            try { calls.Add(ParseOne(text, bodyStart, out next)); }
            catch (Exception e) { calls.Add(new ParsedCall("", [], CallForm.Native, $"unreadable call: {e.Message}")); next = text.Length; }
            pos = next < text.Length ? text.IndexOf(StartCall, next, StringComparison.Ordinal) : -1;
        }
        return new(text[..firstCall], calls);
    }

    private static ParsedCall ParseOne(string text, int start, out int next)
    {
        int endCall = text.IndexOf(EndCall, start, StringComparison.Ordinal);
        int nextStart = text.IndexOf(StartCall, start, StringComparison.Ordinal);
        // A call ends at its end marker; without one it runs to the next call or the end of the text.
        int limit = endCall >= 0 && (nextStart < 0 || endCall < nextStart) ? endCall : (nextStart >= 0 ? nextStart : text.Length);
        bool terminated = limit == endCall;
        next = terminated ? endCall + EndCall.Length : limit;
        var span = text[start..limit];

        if (!span.StartsWith("call:", StringComparison.Ordinal))
            return new ParsedCall("", [], CallForm.Native, "missing 'call:' after <start_function_call>");
        int brace = span.IndexOf('{');
        if (brace < 0)
            return new ParsedCall(span[5..].Trim(), [], CallForm.Native, terminated ? "missing '{' after the name" : "truncated before the arguments");
        var name = span[5..brace].Trim();
        var body = span[(brace + 1)..];
        var truncation = terminated ? null : "truncated: no <end_function_call>";

        var trimmed = body.TrimStart();
        const string ArgsPrefix = "args:" + Escape;
        if (trimmed.StartsWith(ArgsPrefix, StringComparison.Ordinal))
        {
            var rest = trimmed[ArgsPrefix.Length..];
            int close = rest.IndexOf(Escape, StringComparison.Ordinal);
            if (close < 0)
                return new ParsedCall(name, [], CallForm.Reference, truncation ?? "unterminated <escape> around the JSON arguments");
            var json = rest[..close];
            var after = rest[(close + Escape.Length)..].Trim();
            var head = json.TrimStart();
            bool looksLikeJson = head.StartsWith('{') || head.StartsWith('[');
            if (looksLikeJson && (after == "}" || after.Length == 0))
            {
                if (PythonJson.TryLoads(json, out var parsed) && parsed is JsonObject args)
                    return new ParsedCall(name, args, CallForm.Reference, truncation ?? (after.Length == 0 ? "missing '}' after the arguments" : null));
                return new ParsedCall(name, [], CallForm.Reference,
                    truncation ?? (PythonJson.TryLoads(json, out _) ? "arguments are not a JSON object" : "arguments are not valid JSON"));
            }
            // Otherwise args:<escape>…<escape> is a native string argument that happens to be named "args".
        }

        var reader = new NativeReader(body);
        var (obj, problem) = reader.ReadObjectBody();
        return new ParsedCall(name, obj, CallForm.Native, problem ?? truncation);
    }

    // Recursive-descent reader of the native value grammar; records the first problem instead of throwing.
    private sealed class NativeReader(string s)
    {
        private int _i;
        private string? _problem;

        private void Problem(string p) => _problem ??= p;

        public (JsonObject Object, string? Problem) ReadObjectBody()
        {
            var obj = ReadPairs('}');
            if (_i < s.Length)
            {
                var rest = s[_i..].Trim();
                if (rest.Length > 0) Problem($"unexpected text after the arguments: '{Shorten(rest)}'");
            }
            return (obj, _problem);
        }

        private JsonObject ReadPairs(char close)
        {
            var obj = new JsonObject();
            SkipSpace();
            if (Peek() == close) { _i++; return obj; }
            while (true)
            {
                SkipSpace();
                if (_i >= s.Length) { Problem("truncated inside the arguments"); return obj; }
                int colon = IndexOfKeyEnd();
                if (colon < 0) { Problem($"a key without ':' at '{Shorten(s[_i..])}'"); _i = s.Length; return obj; }
                var key = s[_i..colon].Trim();
                _i = colon + 1;
                var value = ReadValue();
                obj[key] = value;
                SkipSpace();
                if (_i >= s.Length) { Problem("truncated inside the arguments"); return obj; }
                char c = s[_i];
                if (c == ',') { _i++; continue; }
                if (c == close) { _i++; return obj; }
                Problem($"expected ',' or '{close}' at '{Shorten(s[_i..])}'");
                return obj;
            }
        }

        // A key runs to ':' and may not cross structural characters.
        private int IndexOfKeyEnd()
        {
            for (int j = _i; j < s.Length; j++)
            {
                char c = s[j];
                if (c == ':') return j;
                if (c is ',' or '{' or '}' or '[' or ']') return -1;
                if (string.CompareOrdinal(s, j, Escape, 0, Escape.Length) == 0) return -1;
            }
            return -1;
        }

        private JsonNode? ReadValue()
        {
            SkipSpace();
            if (_i >= s.Length) { Problem("truncated before a value"); return null; }
            if (string.CompareOrdinal(s, _i, Escape, 0, Escape.Length) == 0)
            {
                int from = _i + Escape.Length;
                int to = s.IndexOf(Escape, from, StringComparison.Ordinal);
                if (to < 0) { Problem("unterminated <escape> string"); _i = s.Length; return JsonValue.Create(s[from..]); }
                _i = to + Escape.Length;
                return JsonValue.Create(s[from..to]);
            }
            char c = s[_i];
            if (c == '{') { _i++; return ReadPairs('}'); }
            if (c == '[') { _i++; return ReadList(); }
            int start = _i;
            while (_i < s.Length && s[_i] is not (',' or '}' or ']') && string.CompareOrdinal(s, _i, Escape, 0, Escape.Length) != 0) _i++;
            var token = s[start.._i].Trim();
            var value = Bare(token);
            // The grammar writes strings in <escape>; a bare word that is no number, bool or None is garbled output.
            if (value is JsonValue v && v.GetValueKind() == JsonValueKind.String) Problem($"bare value '{Shorten(token)}' is not a number, true/false or None");
            return value;
        }

        private JsonArray ReadList()
        {
            var list = new JsonArray();
            SkipSpace();
            if (Peek() == ']') { _i++; return list; }
            while (true)
            {
                list.Add(ReadValue());
                SkipSpace();
                if (_i >= s.Length) { Problem("truncated inside a list"); return list; }
                char c = s[_i];
                if (c == ',') { _i++; continue; }
                if (c == ']') { _i++; return list; }
                Problem($"expected ',' or ']' at '{Shorten(s[_i..])}'");
                return list;
            }
        }

        private char Peek() => _i < s.Length ? s[_i] : '\0';

        private void SkipSpace()
        {
            while (_i < s.Length && char.IsWhiteSpace(s[_i])) _i++;
        }
    }

    /// <summary>A bare native token: int, float (Python spelling), true/false, None/null, else the text itself.</summary>
    public static JsonNode? Bare(string token)
    {
        switch (token)
        {
            case "true": return JsonValue.Create(true);
            case "false": return JsonValue.Create(false);
            case "None" or "null": return null;
        }
        if (IntToken().IsMatch(token) && BigInteger.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big))
            return Number(big.ToString(CultureInfo.InvariantCulture));
        if (FloatToken().IsMatch(token) && double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
            return Number(PythonNumber.FloatRepr(d));
        return JsonValue.Create(token);
    }

    // Numbers keep their exact text (big ints included) by living in a JsonElement.
    private static JsonNode Number(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return JsonValue.Create(doc.RootElement.Clone())!;
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";

    [GeneratedRegex(@"^-?[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex IntToken();

    [GeneratedRegex(@"^-?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][+-]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex FloatToken();
}
