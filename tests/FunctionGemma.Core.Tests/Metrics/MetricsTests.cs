using System.Text.Json.Nodes;
using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Metrics;

namespace FunctionGemma.Core.Tests.Metrics;

public class MetricsTests
{
    private static readonly JsonArray CerCases = Fixture.Load("cer_cases.json").AsArray();

    public static TheoryData<string> CerNames() => [.. CerCases.Select(c => (string)c!["name"]!)];

    [Theory]
    [MemberData(nameof(CerNames))]
    public void Tc_cer_matches_evaluate_cer_arithmetic(string name)
    {
        var c = CerCases.Single(x => (string)x!["name"]! == name)!;
        var refs = c["references"]!.AsArray().Select(x => (string)x!).ToList();
        var preds = c["predictions"]!.AsArray().Select(x => (string)x!).ToList();
        if ((bool)c["error"]!)
        {
            Assert.Throws<ArgumentException>(() => TcCer.Compute(refs, preds));
            return;
        }
        Assert.Equal((double)c["cer"]!, TcCer.Compute(refs, preds));
    }

    [Theory]
    [InlineData("<start_function_call>call:get_weather{args:<escape>{}<escape>}<end_function_call>", "get_weather")]
    [InlineData("text call:a-b{ then call:second_1{x}", "second_1")]
    [InlineData("call:get weather{", null)]
    [InlineData("", null)]
    public void Predicted_name_is_the_first_call_name_match(string prediction, string? expected) =>
        Assert.Equal(expected, CallMetrics.PredictedName(prediction));

    [Fact]
    public void Call_block_is_the_first_non_greedy_block_or_empty()
    {
        Assert.Equal("<start_function_call>a\nb<end_function_call>", TcCer.CallBlock("x<start_function_call>a\nb<end_function_call>y<start_function_call>c<end_function_call>"));
        Assert.Equal("", TcCer.CallBlock("<start_function_call>truncated"));
    }

    private static readonly JsonArray Tools = ToolNormalizer.Normalize(JsonValue.Create(
        "[{\"name\": \"get_weather\", \"parameters\": {\"city\": {\"type\": \"str\"}, \"days\": {\"type\": \"int\"}}},"
        + " {\"name\": \"find_hotel\", \"parameters\": {\"type\": \"dict\", \"properties\": {\"city\": {\"type\": \"string\"}, \"stars\": {\"type\": \"int\"}}, \"required\": [\"city\"]}}]"));

    [Fact]
    public void Aggregate_scores_a_mixed_batch()
    {
        const string Args = "{\"city\": \"Paris\", \"days\": 3}";
        var examples = new List<EvalExample>
        {
            new("<start_function_call>call:get_weather{args:<escape>{\"city\": \"Paris\", \"days\": 3}<escape>}<end_function_call>", "get_weather", Args, Tools),
            new("<start_function_call>call:get_weather{city:<escape>Paris<escape>,days:<escape>3<escape>}<end_function_call>", "get_weather", Args, Tools),
            new("<start_function_call>call:find_hotel{args:<escape>{\"city\": \"Paris\", \"stars\": 4}<escape>}<end_function_call>", "get_weather", Args, Tools),
            new("I can't do that.", "get_weather", Args, Tools),
        };
        var m = CallMetrics.Compute(examples);
        Assert.Equal(4, m.Count);
        Assert.Equal(0.5, m.ToolAccuracy);
        Assert.Equal(0.25, m.ExactMatch);
        Assert.Equal(0.75, m.JsonValidRate);
        // the native call's days is the string "3": invalid for an integer; find_hotel's arguments satisfy its own schema
        Assert.Equal(0.5, m.SchemaValidRate);
        // predicted pairs 2 + 2 + 2 = 6, of which 2 + 1 + 1 match; gold pairs 4 × 2 = 8
        Assert.Equal(4.0 / 6, m.ArgumentPrecision, 12);
        Assert.Equal(4.0 / 8, m.ArgumentRecall, 12);
        Assert.Equal(2 * (4.0 / 6) * 0.5 / ((4.0 / 6) + 0.5), m.ArgumentF1, 12);
        var gold = examples[0].GoldBlock;
        var preds = examples.Select(e => TcCer.CallBlock(e.Prediction)).ToList();
        Assert.Equal(TcCer.Compute([gold, gold, gold, gold], preds), m.TcCer);
    }

    [Fact]
    public void Argument_values_compare_like_python()
    {
        var pred = (JsonObject)JsonNode.Parse("{\"a\": 1.0, \"b\": \"x\", \"c\": [1, 2]}")!;
        var gold = (JsonObject)JsonNode.Parse("{\"a\": 1, \"b\": \"y\", \"c\": [1, 2], \"d\": 0}")!;
        Assert.Equal((2, 3, 4), CallMetrics.ArgumentPairs(pred, gold));
    }
}
