using System.Text.Json.Nodes;
using FunctionGemma.Core.Json;

namespace FunctionGemma.Core.Tests.Json;

public class PythonJsonTests
{
    private static readonly JsonArray Cases = Fixture.Load("json_cases.json").AsArray();

    public static TheoryData<int> Indices() => [.. Enumerable.Range(0, Cases.Count)];

    [Theory]
    [MemberData(nameof(Indices))]
    public void Dumps_str_and_repr_match_python(int index)
    {
        var c = Cases[index]!;
        var value = PythonJson.Loads((string)c["source"]!);
        Assert.Equal((string)c["dumps"]!, PythonJson.Dumps(value));
        Assert.Equal((string)c["str"]!, PythonText.Str(value));
        Assert.Equal((string)c["repr"]!, PythonText.Repr(value));
    }

    [Theory]
    [InlineData("{\"a\": }")]
    [InlineData("nan")]
    [InlineData("01")]
    [InlineData("1.")]
    [InlineData("-")]
    [InlineData("\"\\x\"")]
    [InlineData("\"tab\there\"")]
    [InlineData("{'a': 1}")]
    [InlineData("[1,]")]
    [InlineData("")]
    public void Invalid_json_is_reported_without_throwing(string text) => Assert.False(PythonJson.TryLoads(text, out _));

    [Fact]
    public void Lone_surrogates_are_kept_as_python_keeps_them()
    {
        var value = PythonJson.Loads("[\"\\ud800x\", \"\\ud83d\\ude00\", \"\udc00\"]");
        Assert.Equal("[\"\ud800x\", \"\U0001F600\", \"\udc00\"]", PythonJson.Dumps(value));
        Assert.Equal("['\\ud800x', '\U0001F600', '\\udc00']", PythonText.Repr(value));
    }

    [Fact]
    public void Int_literals_over_4300_digits_are_refused_like_cpython()
    {
        Assert.True(PythonJson.TryLoads(new string('7', 4300), out _));
        Assert.False(PythonJson.TryLoads(new string('7', 4301), out _));
    }

    [Fact]
    public void Python_strip_also_removes_the_information_separators() =>
        Assert.Equal("x", PythonText.Strip("\x1c\x1d\x1e\x1f\u3000 x\u2028\u00a0"));

    [Fact]
    public void Python_upper_and_lower_expand_like_python()
    {
        Assert.Equal("STRASSE", PythonText.Upper("straße"));
        Assert.Equal("i\u0307", PythonText.Lower("\u0130"));
    }
}

public class PythonJsonCreatedValuesTests
{
    [Fact]
    public void Values_created_in_code_print_by_their_clr_type()
    {
        var o = new JsonObject { ["i"] = 5, ["l"] = 5L, ["d"] = 3.0, ["big"] = 1e16, ["m"] = 1.50m, ["s"] = "é\n", ["b"] = false, ["n"] = null };
        Assert.Equal("{\"i\": 5, \"l\": 5, \"d\": 3.0, \"big\": 1e+16, \"m\": 1.5, \"s\": \"é\\n\", \"b\": false, \"n\": null}", PythonJson.Dumps(o));
    }
}
