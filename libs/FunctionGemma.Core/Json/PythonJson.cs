using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FunctionGemma.Core.Json;

/// <summary>
/// JSON text exactly as Python's <c>json.dumps(value, ensure_ascii=False)</c> writes it, and parsing as
/// <c>json.loads</c> does (key order kept, numbers typed int/float by their text).
/// </summary>
public static class PythonJson
{
    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 512 };

    /// <summary>Python <c>json.dumps(value, ensure_ascii=False)</c>: <c>", "</c>/<c>": "</c> separators, key order kept, Python number spelling, non-ASCII kept.</summary>
    public static string Dumps(JsonNode? value)
    {
        var sb = new StringBuilder();
        Append(sb, value);
        return sb.ToString();
    }

    /// <summary>Parses JSON text as <c>json.loads</c> would; false (never an exception) when Python would raise.</summary>
    /// <remarks>Duplicate keys keep the first position and the last value, as a Python dict does. Deviation: Python also
    /// accepts NaN/Infinity literals and lone-surrogate escapes; these count as invalid here.</remarks>
    public static bool TryLoads(string text, out JsonNode? value)
    {
        value = null;
        try
        {
            using var doc = JsonDocument.Parse(text, ParseOptions);
            value = Convert(doc.RootElement);
            return true;
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            value = null;
            return false;
        }
    }

    /// <summary>Parses JSON text as <c>json.loads</c> would.</summary>
    /// <exception cref="FormatException">The text is not JSON that Python's json module accepts.</exception>
    public static JsonNode? Loads(string text) =>
        TryLoads(text, out var value) ? value : throw new FormatException($"Not valid JSON: '{(text.Length <= 80 ? text : text[..80] + "…")}'.");

    private static JsonNode? Convert(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                var o = new JsonObject();
                foreach (var p in e.EnumerateObject()) o[p.Name] = Convert(p.Value);
                return o;
            case JsonValueKind.Array:
                var a = new JsonArray();
                foreach (var item in e.EnumerateArray()) a.Add(Convert(item));
                return a;
            case JsonValueKind.String: return JsonValue.Create(e.GetString()!);
            case JsonValueKind.Number:
                _ = PythonNumber.Parse(e.GetRawText());
                return JsonValue.Create(e.Clone());
            case JsonValueKind.True: return JsonValue.Create(true);
            case JsonValueKind.False: return JsonValue.Create(false);
            default: return null;
        }
    }

    /// <summary>Writes a string as a Python JSON string literal (ensure_ascii=False).</summary>
    public static string DumpsString(string s)
    {
        var sb = new StringBuilder(s.Length + 2);
        AppendString(sb, s);
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, JsonNode? node)
    {
        switch (node)
        {
            case null: sb.Append("null"); break;
            case JsonObject o:
                if (o.Count == 0) { sb.Append("{}"); break; }
                sb.Append('{');
                bool first = true;
                foreach (var (k, v) in o)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    AppendString(sb, k);
                    sb.Append(": ");
                    Append(sb, v);
                }
                sb.Append('}');
                break;
            case JsonArray a:
                if (a.Count == 0) { sb.Append("[]"); break; }
                sb.Append('[');
                for (int i = 0; i < a.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    Append(sb, a[i]);
                }
                sb.Append(']');
                break;
            case JsonValue v:
                switch (v.GetValueKind())
                {
                    case JsonValueKind.String: AppendString(sb, v.GetValue<string>()); break;
                    case JsonValueKind.True: sb.Append("true"); break;
                    case JsonValueKind.False: sb.Append("false"); break;
                    case JsonValueKind.Number: sb.Append(NumberText(PythonNumber.Of(v))); break;
                    default: sb.Append("null"); break;
                }
                break;
        }
    }

    private static string NumberText(PythonNumber n)
    {
        if (n.IsInteger) return n.Integer.ToString(CultureInfo.InvariantCulture);
        // json.dumps spells non-finite floats as JavaScript does, not as repr.
        if (double.IsNaN(n.Float)) return "NaN";
        if (double.IsPositiveInfinity(n.Float)) return "Infinity";
        if (double.IsNegativeInfinity(n.Float)) return "-Infinity";
        return PythonNumber.FloatRepr(n.Float);
    }

    private static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
