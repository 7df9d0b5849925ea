using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FunctionGemma.Core.Json;

/// <summary>
/// Python's view of JSON values (what <c>json.loads</c> yields): <c>str()</c>, <c>repr()</c>, truthiness,
/// <c>str.strip/lower/upper</c> and numbers spelled as Python spells them. Reference rules and Jinja
/// templates run on these semantics, so byte-exact ports need them.
/// </summary>
public static class PythonText
{
    /// <summary>Python <c>str.isspace()</c> for one UTF-16 unit: .NET whitespace plus the \x1c–\x1f separators.</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';

    /// <summary>Python <c>str.strip()</c> (no argument).</summary>
    public static string Strip(string s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsSpace(s[start])) start++;
        while (end > start && IsSpace(s[end - 1])) end--;
        return start == 0 && end == s.Length ? s : s[start..end];
    }

    /// <summary>Python <c>str.lower()</c>: simple case mapping per code point plus the one unconditional expansion (U+0130).</summary>
    public static string Lower(string s)
    {
        var sb = new StringBuilder(s.Length);
        var runes = EnumerateRunesLenient(s).ToList();
        for (int i = 0; i < runes.Count; i++)
        {
            var rune = runes[i];
            if (rune.Value == 0x130) sb.Append("i\u0307");
            // Final sigma (approximated: after a letter, not before one), which Python's lower() applies.
            else if (rune.Value == 0x3A3 && i > 0 && IsLetter(runes[i - 1]) && (i + 1 == runes.Count || !IsLetter(runes[i + 1]))) sb.Append('\u03C2');
            else AppendRune(sb, rune.IsValid ? Rune.ToLowerInvariant(rune.Rune) : default, rune);
        }
        return sb.ToString();
    }

    private static bool IsLetter(LenientRune r) => r.IsValid && Rune.IsLetter(r.Rune);

    /// <summary>Python <c>str.upper()</c>: simple case mapping per code point plus the common full-case expansions (ß → SS, ligatures).</summary>
    public static string Upper(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var rune in EnumerateRunesLenient(s))
        {
            if (rune.IsValid && UpperExpansions.TryGetValue(rune.Value, out var expanded)) sb.Append(expanded);
            else AppendRune(sb, rune.IsValid ? Rune.ToUpperInvariant(rune.Rune) : default, rune);
        }
        return sb.ToString();
    }

    // SpecialCasing.txt unconditional uppercase expansions that occur in practice.
    private static readonly Dictionary<int, string> UpperExpansions = new()
    {
        [0x00DF] = "SS", [0x0149] = "\u02BCN", [0x01F0] = "J\u030C", [0x0390] = "\u0399\u0308\u0301",
        [0x03B0] = "\u03A5\u0308\u0301", [0x0587] = "\u0535\u0552", [0x1E96] = "H\u0331", [0x1E97] = "T\u0308",
        [0x1E98] = "W\u030A", [0x1E99] = "Y\u030A", [0x1E9A] = "A\u02BE", [0xFB00] = "FF", [0xFB01] = "FI",
        [0xFB02] = "FL", [0xFB03] = "FFI", [0xFB04] = "FFL", [0xFB05] = "ST", [0xFB06] = "ST",
    };

    private readonly record struct LenientRune(Rune Rune, char Lone, bool IsValid)
    {
        public int Value => IsValid ? Rune.Value : Lone;
    }

    // Python strings may hold lone surrogates; they pass through case mapping unchanged.
    private static IEnumerable<LenientRune> EnumerateRunesLenient(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (Rune.TryGetRuneAt(s, i, out var r))
            {
                yield return new LenientRune(r, '\0', true);
                i += r.Utf16SequenceLength - 1;
            }
            else yield return new LenientRune(default, s[i], false);
        }
    }

    private static void AppendRune(StringBuilder sb, Rune mapped, LenientRune original)
    {
        if (!original.IsValid) { sb.Append(original.Lone); return; }
        Span<char> buf = stackalloc char[2];
        sb.Append(buf[..mapped.EncodeToUtf16(buf)]);
    }

    /// <summary>Compares two strings by Unicode code point, as Python orders <c>str</c> values.</summary>
    public static int CompareCodePoints(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            int ca = CodePointAt(a, ref i), cb = CodePointAt(b, ref j);
            if (ca != cb) return ca.CompareTo(cb);
        }
        return (a.Length - i).CompareTo(b.Length - j) switch { 0 => 0, var c => c };
    }

    private static int CodePointAt(string s, ref int i)
    {
        char c = s[i++];
        if (char.IsHighSurrogate(c) && i < s.Length && char.IsLowSurrogate(s[i])) return char.ConvertToUtf32(c, s[i++]);
        return c;
    }

    /// <summary>Number of code points (Python <c>len</c>); a lone surrogate counts as one.</summary>
    public static int CodePointLength(string s)
    {
        int n = 0;
        for (int i = 0; i < s.Length; n++) CodePointAt(s, ref i);
        return n;
    }

    /// <summary>The string as Python code points (Python <c>list(s)</c>).</summary>
    public static int[] CodePoints(string s)
    {
        var list = new List<int>(s.Length);
        for (int i = 0; i < s.Length;) list.Add(CodePointAt(s, ref i));
        return [.. list];
    }

    /// <summary>Python truthiness of a JSON value: null, false, 0, 0.0, "", [] and {} are false.</summary>
    public static bool Truthy(JsonNode? node) => node switch
    {
        null => false,
        JsonArray a => a.Count > 0,
        JsonObject o => o.Count > 0,
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>().Length > 0,
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => !IsZero(v),
            _ => false,
        },
        _ => false,
    };

    private static bool IsZero(JsonValue v)
    {
        var n = PythonNumber.Of(v);
        return n.IsInteger ? n.Integer.IsZero : n.Float == 0.0;
    }

    /// <summary>Python <c>str(value)</c> of a JSON value: strings as is, None, True/False, numbers as Python prints them, containers as repr.</summary>
    public static string Str(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : Repr(node);

    /// <summary>Python <c>repr(value)</c> of a JSON value (dicts and lists use <c>", "</c> and <c>": "</c>).</summary>
    public static string Repr(JsonNode? node)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, node);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, JsonNode? node)
    {
        switch (node)
        {
            case null: sb.Append("None"); break;
            case JsonArray a:
                sb.Append('[');
                for (int i = 0; i < a.Count; i++) { if (i > 0) sb.Append(", "); AppendRepr(sb, a[i]); }
                sb.Append(']');
                break;
            case JsonObject o:
                sb.Append('{');
                bool first = true;
                foreach (var (k, v) in o) { if (!first) sb.Append(", "); first = false; AppendStringRepr(sb, k); sb.Append(": "); AppendRepr(sb, v); }
                sb.Append('}');
                break;
            case JsonValue v:
                switch (v.GetValueKind())
                {
                    case JsonValueKind.String: AppendStringRepr(sb, v.GetValue<string>()); break;
                    case JsonValueKind.True: sb.Append("True"); break;
                    case JsonValueKind.False: sb.Append("False"); break;
                    case JsonValueKind.Number: sb.Append(PythonNumber.Of(v).ToString()); break;
                    default: sb.Append("None"); break;
                }
                break;
        }
    }

    /// <summary>Python <c>repr(str)</c>: single quotes unless the text has ' and no ", escapes for non-printable characters.</summary>
    public static string StringRepr(string s)
    {
        var sb = new StringBuilder(s.Length + 2);
        AppendStringRepr(sb, s);
        return sb.ToString();
    }

    private static void AppendStringRepr(StringBuilder sb, string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            int cp = c;
            bool pair = char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]);
            if (pair) cp = char.ConvertToUtf32(c, s[i + 1]);
            if (c == quote || c == '\\') sb.Append('\\').Append(c);
            else if (c == '\t') sb.Append("\\t");
            else if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (cp < 0x20 || cp == 0x7f) sb.Append("\\x").Append(cp.ToString("x2", CultureInfo.InvariantCulture));
            else if (cp < 0x7f) sb.Append(c);
            else if (!IsPrintable(cp, pair))
            {
                if (cp <= 0xff) sb.Append("\\x").Append(cp.ToString("x2", CultureInfo.InvariantCulture));
                else if (cp <= 0xffff) sb.Append("\\u").Append(cp.ToString("x4", CultureInfo.InvariantCulture));
                else sb.Append("\\U").Append(cp.ToString("x8", CultureInfo.InvariantCulture));
            }
            else if (pair) sb.Append(c).Append(s[i + 1]);
            else sb.Append(c);
            if (pair) i++;
        }
        sb.Append(quote);
    }

    // Python str.isprintable: not Cc, Cf, Cs, Co, Cn, Zl, Zp, nor Zs other than the ASCII space.
    private static bool IsPrintable(int cp, bool isPair)
    {
        if (!isPair && cp is >= 0xD800 and <= 0xDFFF) return false;
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        return cat switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
                or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => false,
            UnicodeCategory.SpaceSeparator => cp == 0x20,
            _ => true,
        };
    }
}

/// <summary>A JSON number as Python's <c>json.loads</c> types it: an arbitrary-precision int (no '.', 'e' or 'E' in the text) or a float.</summary>
/// <param name="IsInteger">True for an int, false for a float.</param>
/// <param name="Integer">The int value when <paramref name="IsInteger"/>.</param>
/// <param name="Float">The float value when not <paramref name="IsInteger"/>.</param>
public readonly record struct PythonNumber(bool IsInteger, BigInteger Integer, double Float)
{
    /// <summary>Types a JSON number node: parsed nodes by their source text, created nodes by their CLR type.</summary>
    public static PythonNumber Of(JsonValue value)
    {
        if (value.TryGetValue<JsonElement>(out var element)) return Parse(element.GetRawText());
        if (value.TryGetValue<double>(out var d)) return new(false, default, d);
        if (value.TryGetValue<float>(out var f)) return new(false, default, f);
        if (value.TryGetValue<decimal>(out var m)) return Parse(m.ToString(CultureInfo.InvariantCulture));
        if (value.TryGetValue<BigInteger>(out var big)) return new(true, big, 0);
        if (value.TryGetValue<ulong>(out var ul)) return new(true, ul, 0);
        if (value.TryGetValue<long>(out var l)) return new(true, l, 0);
        if (value.TryGetValue<int>(out var i)) return new(true, i, 0);
        return Parse(value.ToJsonString());
    }

    /// <summary>Types JSON number text the way Python's json module does.</summary>
    public static PythonNumber Parse(string text) =>
        text.AsSpan().IndexOfAny(".eE") >= 0
            ? new(false, default, double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture))
            : new(true, BigInteger.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture), 0);

    /// <summary>Python's <c>str()</c>/<c>repr()</c>/<c>json.dumps</c> spelling: <c>42</c>, <c>3.0</c>, <c>1e-05</c>, <c>1e+16</c>, <c>inf</c>.</summary>
    public override string ToString() => IsInteger ? Integer.ToString(CultureInfo.InvariantCulture) : FloatRepr(Float);

    /// <summary>Python <c>repr(float)</c>: shortest round-trip digits, scientific when the exponent is below -4 or at least 16.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        // "E16" would round; "R" gives the shortest round-trip digits, which is what Python's repr uses too.
        var r = d.ToString("R", CultureInfo.InvariantCulture);
        bool negative = r.StartsWith('-');
        if (negative) r = r[1..];
        int exp = 0;
        int ePos = r.IndexOf('E');
        if (ePos >= 0) { exp = int.Parse(r[(ePos + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture); r = r[..ePos]; }
        int dot = r.IndexOf('.');
        string intPart = dot >= 0 ? r[..dot] : r, frac = dot >= 0 ? r[(dot + 1)..] : "";
        string digits = (intPart + frac).TrimStart('0');
        int leadingZeros = (intPart + frac).Length - (intPart + frac).TrimStart('0').Length;
        // decimal exponent of the first significant digit
        int pointPos = intPart.Length + exp - leadingZeros; // digits[0] sits at 10^(pointPos-1)
        digits = digits.TrimEnd('0');
        var sb = new StringBuilder();
        if (negative) sb.Append('-');
        if (digits.Length == 0) { sb.Append("0.0"); return sb.ToString(); }
        int sciExp = pointPos - 1;
        if (sciExp < -4 || sciExp >= 16)
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            sb.Append('e').Append(sciExp < 0 ? '-' : '+').Append(Math.Abs(sciExp).ToString("00", CultureInfo.InvariantCulture));
        }
        else if (pointPos <= 0) sb.Append("0.").Append('0', -pointPos).Append(digits);
        else if (pointPos >= digits.Length) sb.Append(digits).Append('0', pointPos - digits.Length).Append(".0");
        else sb.Append(digits, 0, pointPos).Append('.').Append(digits, pointPos, digits.Length - pointPos);
        return sb.ToString();
    }
}
