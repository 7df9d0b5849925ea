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
    /// <summary>Python <c>json.dumps(value, ensure_ascii=False)</c>: <c>", "</c>/<c>": "</c> separators, key order kept, Python number spelling, non-ASCII kept.</summary>
    public static string Dumps(JsonNode? value)
    {
        var sb = new StringBuilder();
        Append(sb, value);
        return sb.ToString();
    }

    /// <summary>Parses JSON text exactly as CPython's <c>json.loads</c> does; false (never an exception) where Python raises ValueError.</summary>
    /// <remarks>Like Python: NaN/Infinity/-Infinity are accepted, duplicate keys keep the first position and the last value,
    /// lone surrogates (raw or escaped) are kept, ints keep every digit. Nesting deeper than 900 levels is refused
    /// (Python raises RecursionError near 1000).</remarks>
    public static bool TryLoads(string text, out JsonNode? value)
    {
        var reader = new Reader(text);
        if (reader.TryReadDocument(out value)) return true;
        value = null;
        return false;
    }

    /// <summary>Parses JSON text as <c>json.loads</c> would.</summary>
    /// <exception cref="FormatException">The text is not JSON that Python's json module accepts.</exception>
    public static JsonNode? Loads(string text) =>
        TryLoads(text, out var value) ? value : throw new FormatException($"Not valid JSON: '{(text.Length <= 80 ? text : text[..80] + "…")}'.");

    // A port of the grammar CPython's C scanner (Modules/_json.c) accepts.
    private sealed class Reader(string s)
    {
        private const int MaxDepth = 900;
        private int _i;

        public bool TryReadDocument(out JsonNode? value)
        {
            SkipWhitespace();
            if (!TryReadValue(0, out value)) return false;
            SkipWhitespace();
            return _i == s.Length;
        }

        // json.loads skips only these four around tokens.
        private void SkipWhitespace()
        {
            while (_i < s.Length && s[_i] is ' ' or '\t' or '\n' or '\r') _i++;
        }

        private bool At(string literal) => string.CompareOrdinal(s, _i, literal, 0, literal.Length) == 0 && _i + literal.Length <= s.Length;

        private bool TryReadValue(int depth, out JsonNode? value)
        {
            value = null;
            if (_i >= s.Length || depth > MaxDepth) return false;
            char c = s[_i];
            switch (c)
            {
                case '"':
                    if (!TryReadString(out var str)) return false;
                    value = JsonValue.Create(str);
                    return true;
                case '{': return TryReadObject(depth, out value);
                case '[': return TryReadArray(depth, out value);
            }
            if (At("null")) { _i += 4; return true; }
            if (At("true")) { _i += 4; value = JsonValue.Create(true); return true; }
            if (At("false")) { _i += 5; value = JsonValue.Create(false); return true; }
            if (At("NaN")) { _i += 3; value = JsonValue.Create(double.NaN); return true; }
            if (At("Infinity")) { _i += 8; value = JsonValue.Create(double.PositiveInfinity); return true; }
            if (At("-Infinity")) { _i += 9; value = JsonValue.Create(double.NegativeInfinity); return true; }
            return TryReadNumber(out value);
        }

        private bool TryReadNumber(out JsonNode? value)
        {
            value = null;
            int start = _i;
            if (_i < s.Length && s[_i] == '-') _i++;
            if (_i >= s.Length || !char.IsAsciiDigit(s[_i])) { _i = start; return false; }
            if (s[_i] == '0') _i++;
            else while (_i < s.Length && char.IsAsciiDigit(s[_i])) _i++;
            // A fraction or exponent counts only when complete; otherwise the number ends before it (then "Extra data").
            if (_i + 1 < s.Length && s[_i] == '.' && char.IsAsciiDigit(s[_i + 1]))
            {
                _i += 2;
                while (_i < s.Length && char.IsAsciiDigit(s[_i])) _i++;
            }
            if (_i < s.Length && s[_i] is 'e' or 'E')
            {
                int e = _i + 1;
                if (e < s.Length && s[e] is '+' or '-') e++;
                if (e < s.Length && char.IsAsciiDigit(s[e]))
                {
                    _i = e;
                    while (_i < s.Length && char.IsAsciiDigit(s[_i])) _i++;
                }
            }
            var text = s[start.._i];
            // CPython ≥ 3.11 refuses int literals over 4300 digits (sys.get_int_max_str_digits) with ValueError.
            if (text.Length - (text[0] == '-' ? 1 : 0) > 4300 && text.AsSpan().IndexOfAny(".eE") < 0) return false;
            var number = PythonNumber.Parse(text);
            if (!number.IsInteger && !double.IsFinite(number.Float)) { value = JsonValue.Create(number.Float); return true; }
            // Valid JSON number text: keep it verbatim (big ints included) inside a JsonElement.
            using var doc = JsonDocument.Parse(text);
            value = JsonValue.Create(doc.RootElement.Clone());
            return true;
        }

        private bool TryReadString(out string value)
        {
            value = "";
            var sb = new StringBuilder();
            _i++; // opening quote
            while (true)
            {
                if (_i >= s.Length) return false;
                char c = s[_i++];
                if (c == '"') break;
                if (c < 0x20) return false; // strict mode: no raw control characters
                if (c != '\\') { sb.Append(c); continue; }
                if (_i >= s.Length) return false;
                char e = s[_i++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (!TryHex4(_i, out var u)) return false;
                        _i += 4;
                        // A high surrogate followed by an escaped low surrogate joins into one code point; lone ones stay.
                        if (u is >= 0xD800 and <= 0xDBFF && _i + 1 < s.Length && s[_i] == '\\' && s[_i + 1] == 'u'
                            && TryHex4(_i + 2, out var low) && low is >= 0xDC00 and <= 0xDFFF)
                        {
                            sb.Append((char)u).Append((char)low);
                            _i += 6;
                        }
                        else sb.Append((char)u);
                        break;
                    default: return false;
                }
            }
            value = sb.ToString();
            return true;
        }

        private bool TryHex4(int at, out int code)
        {
            code = 0;
            if (at + 4 > s.Length) return false;
            for (int k = 0; k < 4; k++)
            {
                int d = HexDigit(s[at + k]);
                if (d < 0) return false;
                code = code * 16 + d;
            }
            return true;
        }

        private static int HexDigit(char c) => c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'a' and <= 'f' => c - 'a' + 10,
            >= 'A' and <= 'F' => c - 'A' + 10,
            _ => -1,
        };

        private bool TryReadObject(int depth, out JsonNode? value)
        {
            value = null;
            var obj = new JsonObject();
            _i++;
            SkipWhitespace();
            if (_i < s.Length && s[_i] == '}') { _i++; value = obj; return true; }
            while (true)
            {
                SkipWhitespace();
                if (_i >= s.Length || s[_i] != '"' || !TryReadString(out var key)) return false;
                SkipWhitespace();
                if (_i >= s.Length || s[_i] != ':') return false;
                _i++;
                SkipWhitespace();
                if (!TryReadValue(depth + 1, out var item)) return false;
                obj[key] = item; // a repeated key replaces the value in place, as dict assignment does
                SkipWhitespace();
                if (_i >= s.Length) return false;
                if (s[_i] == ',') { _i++; continue; }
                if (s[_i] == '}') { _i++; value = obj; return true; }
                return false;
            }
        }

        private bool TryReadArray(int depth, out JsonNode? value)
        {
            value = null;
            var list = new JsonArray();
            _i++;
            SkipWhitespace();
            if (_i < s.Length && s[_i] == ']') { _i++; value = list; return true; }
            while (true)
            {
                SkipWhitespace();
                if (!TryReadValue(depth + 1, out var item)) return false;
                list.Add(item);
                SkipWhitespace();
                if (_i >= s.Length) return false;
                if (s[_i] == ',') { _i++; continue; }
                if (s[_i] == ']') { _i++; value = list; return true; }
                return false;
            }
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
