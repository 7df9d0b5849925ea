using System.Text.Json.Nodes;
using CsCheck;
using FunctionGemma.Core.Calls;
using FunctionGemma.Core.Json;

namespace FunctionGemma.Core.Tests.Calls;

public class FunctionCallFormatTests
{
    private static JsonObject Obj(string json) => (JsonObject)PythonJson.Loads(json)!;

    [Fact]
    public void Reference_target_renders_as_the_recipe_shows()
    {
        Assert.Equal("<start_function_call>call:get_water_quality{args:<escape>{\"location\": \"Zuma Beach\"}<escape>}<end_function_call>",
            FunctionCallFormat.RenderReference(new FunctionCall("get_water_quality", Obj("{\"location\":\"Zuma Beach\"}"))));
    }

    [Fact]
    public void Reference_form_parses_to_its_json_arguments()
    {
        var r = FunctionCallFormat.Parse("<start_function_call>call:get_weather{args:<escape>{\"city\": \"Paris\", \"n\": 1.5}<escape>}<end_function_call>");
        var call = Assert.Single(r.Calls);
        Assert.Equal(CallForm.Reference, call.Form);
        Assert.Null(call.Problem);
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("{\"city\": \"Paris\", \"n\": 1.5}", PythonJson.Dumps(call.Arguments));
    }

    [Fact]
    public void Native_form_parses_nested_values_in_any_key_order()
    {
        var text = "Let me check.<start_function_call>call:f{z:<escape>a,b}{:\"<escape>,n:-7,big:123456789012345678901234567890,x:1e-05,t:true,no:None,"
                   + "obj:{B:1,a:{y:[],z:<escape>deep<escape>}},list:[1,<escape>two<escape>,[3.5,None],{K:false}],e:{}}<end_function_call><start_function_response>";
        var r = FunctionCallFormat.Parse(text);
        Assert.Equal("Let me check.", r.Content);
        var call = Assert.Single(r.Calls);
        Assert.Equal(CallForm.Native, call.Form);
        Assert.Null(call.Problem);
        Assert.Equal("{\"z\": \"a,b}{:\\\"\", \"n\": -7, \"big\": 123456789012345678901234567890, \"x\": 1e-05, \"t\": true, \"no\": null, "
                     + "\"obj\": {\"B\": 1, \"a\": {\"y\": [], \"z\": \"deep\"}}, \"list\": [1, \"two\", [3.5, null], {\"K\": false}], \"e\": {}}",
            PythonJson.Dumps(call.Arguments));
    }

    [Fact]
    public void Parallel_calls_back_to_back_are_all_read()
    {
        var r = FunctionCallFormat.Parse("<start_function_call>call:a{q:<escape>x<escape>}<end_function_call><start_function_call>call:b{}<end_function_call><start_function_response>");
        Assert.Equal(["a", "b"], r.Calls.Select(c => c.Name));
        Assert.Null(r.Problem);
        Assert.Empty(r.Calls[1].Arguments);
    }

    [Fact]
    public void Text_without_a_call_is_content_only()
    {
        var r = FunctionCallFormat.Parse("I cannot help with that.");
        Assert.Empty(r.Calls);
        Assert.Equal("I cannot help with that.", r.Content);
        Assert.Null(r.Problem);
    }

    [Theory]
    [InlineData("<start_function_call>call:get_weather{args:<escape>{\"city\": \"Par", "get_weather", "{}")]
    [InlineData("<start_function_call>call:get_weather{city:<escape>Par", "get_weather", "{\"city\": \"Par\"}")]
    [InlineData("<start_function_call>call:get_weather{city:<escape>Paris<escape>,n:", "get_weather", "{\"city\": \"Paris\", \"n\": null}")]
    [InlineData("<start_function_call>call:get_wea", "get_wea", "{}")]
    [InlineData("<start_function_call>get_weather{}<end_function_call>", "", "{}")]
    [InlineData("<start_function_call>call:f{args:<escape>{not json}<escape>}<end_function_call>", "f", "{}")]
    [InlineData("<start_function_call>call:f{args:<escape>[1, 2]<escape>}<end_function_call>", "f", "{}")]
    [InlineData("<start_function_call>call:f{a:1 b:2}<end_function_call>", "f", "{\"a\": \"1 b:2\"}")]
    [InlineData("<start_function_call>call:f{a:[1,2}<end_function_call>", "f", "{\"a\": [1, 2]}")]
    [InlineData("<start_function_call>call:f{a:1}}}<end_function_call>", "f", "{\"a\": 1}")]
    public void Garbled_or_truncated_output_yields_what_it_can_and_a_problem(string text, string name, string args)
    {
        var r = FunctionCallFormat.Parse(text);
        var call = Assert.Single(r.Calls);
        Assert.Equal(name, call.Name);
        Assert.Equal(args, PythonJson.Dumps(call.Arguments));
        Assert.NotNull(call.Problem);
    }

    [Fact]
    public void Native_string_argument_named_args_is_not_mistaken_for_the_reference_form()
    {
        var call = Assert.Single(FunctionCallFormat.Parse("<start_function_call>call:f{args:<escape>hello<escape>,x:1}<end_function_call>").Calls);
        Assert.Equal(CallForm.Native, call.Form);
        Assert.Null(call.Problem);
        Assert.Equal("{\"args\": \"hello\", \"x\": 1}", PythonJson.Dumps(call.Arguments));
    }

    [Fact]
    public void Native_render_matches_the_chat_template_tool_call()
    {
        var c = Fixture.Load("template_cases.json")["cases"]!.AsArray().Single(x => (string)x!["name"]! == "call_args_value_types")!;
        var function = c["messages"]![2]!["tool_calls"]![0]!["function"]!;
        var rendered = FunctionCallFormat.RenderNative(new FunctionCall((string)function["name"]!, function["arguments"]!.AsObject()));
        Assert.Contains(rendered, (string)c["expected"]!);
    }

    private static readonly Gen<string> Key = Gen.Select(Gen.Char["abcxyzABC_"], Gen.Char["abcxyz_019"].Array[0, 6], (h, t) => h + new string(t));

    // Strings the native grammar can carry: anything without the <escape> marker.
    private static readonly Gen<string> Text = Gen.OneOf("a", "b ", ",", ":", "{", "}", "[", "]", "\"", "'", "\\", "\n", "<", ">", "é", "東", "🌧", "None", "1", "<escape")
        .List[0, 8].Select(parts => WithoutEscape(string.Concat(parts)));

    private static string WithoutEscape(string s)
    {
        while (s.Contains("<escape>", StringComparison.Ordinal)) s = s.Replace("<escape>", "", StringComparison.Ordinal);
        return s;
    }

    private static Gen<JsonNode?> Value(int depth)
    {
        var scalars = Gen.OneOf<JsonNode?>(
            Text.Select(s => (JsonNode?)JsonValue.Create(s)),
            Gen.Long.Select(l => (JsonNode?)PythonJson.Loads(l.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            Gen.Double.Where(double.IsFinite).Select(d => (JsonNode?)PythonJson.Loads(PythonNumber.FloatRepr(d))),
            Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b)),
            Gen.Const<JsonNode?>((JsonNode?)null));
        if (depth == 0) return scalars;
        return Gen.Frequency<JsonNode?>(
            (4, scalars),
            (1, Value(depth - 1).List[0, 3].Select(l => (JsonNode?)new JsonArray([.. l]))),
            (1, Object(depth - 1).Select(o => (JsonNode?)o)));
    }

    private static Gen<JsonObject> Object(int depth) =>
        Gen.Select(Key, Value(depth)).List[0, 4].Select(pairs =>
        {
            var o = new JsonObject();
            foreach (var (k, v) in pairs) o[k] = v;
            return o;
        });

    private static string Canonical(JsonNode? n) => n switch
    {
        JsonObject o => "{" + string.Join(",", o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => PythonJson.DumpsString(p.Key) + ":" + Canonical(p.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        _ => PythonJson.Dumps(n),
    };

    [Fact]
    public void Native_parse_of_render_round_trips()
    {
        Gen.Select(Key, Object(2)).Sample((name, args) =>
        {
            var call = Assert.Single(FunctionCallFormat.Parse(FunctionCallFormat.RenderNative(new FunctionCall(name, args))).Calls);
            Assert.Null(call.Problem);
            Assert.Equal(name, call.Name);
            Assert.Equal(Canonical(args), Canonical(call.Arguments));
        }, iter: 2000);
    }

    [Fact]
    public void Reference_parse_of_render_round_trips()
    {
        Gen.Select(Key, Object(2)).Sample((name, args) =>
        {
            var call = Assert.Single(FunctionCallFormat.Parse(FunctionCallFormat.RenderReference(new FunctionCall(name, args))).Calls);
            Assert.Null(call.Problem);
            Assert.Equal(CallForm.Reference, call.Form);
            Assert.Equal(PythonJson.Dumps(args), PythonJson.Dumps(call.Arguments));
        }, iter: 2000);
    }

    [Fact]
    public void Parse_never_throws_on_fragments_of_call_syntax()
    {
        var fragment = Gen.OneOf("<start_function_call>", "<end_function_call>", "<escape>", "call:", "args:", "f", "{", "}", "[", "]", ",", ":", "1", "x", " ", "\"", "None", "<start_function_response>");
        fragment.List[0, 30].Select(l => string.Concat(l)).Sample(text => { _ = FunctionCallFormat.Parse(text); }, iter: 5000);
    }
}
