using System.Text.Json.Nodes;
using CsCheck;
using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Json;

namespace FunctionGemma.Core.Tests.Hermes;

public class HermesCleanerPropertyTests
{
    private static readonly Gen<string> Text = Gen.OneOf(
        Gen.String[0, 12],
        Gen.OneOf("human", "gpt", "system", "tool", " USER ", "str", "List[int]", "Dict[str, List[x]]", "get_weather", "",
            "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": 1}}</tool_call>", "<tool_call>\n{\"name\": <function-name>}\n</tool_call>"));

    private static Gen<JsonNode?> Any(int depth)
    {
        var scalars = Gen.OneOf<JsonNode?>(
            Text.Select(s => (JsonNode?)JsonValue.Create(s)),
            Gen.Long.Select(l => (JsonNode?)PythonJson.Loads(l.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            Gen.Double.Where(double.IsFinite).Select(d => (JsonNode?)PythonJson.Loads(PythonNumber.FloatRepr(d))),
            Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b)),
            Gen.Const<JsonNode?>((JsonNode?)null));
        if (depth == 0) return scalars;
        var key = Gen.OneOf(Text, Gen.OneOf("name", "parameters", "type", "properties", "description", "required", "from", "value", "arguments"));
        return Gen.Frequency<JsonNode?>(
            (3, scalars),
            (1, Any(depth - 1).List[0, 4].Select(l => (JsonNode?)new JsonArray([.. l]))),
            (2, Gen.Select(key, Any(depth - 1)).List[0, 5].Select(pairs =>
            {
                var o = new JsonObject();
                foreach (var (k, v) in pairs) o[k] = v;
                return (JsonNode?)o;
            })));
    }

    [Fact]
    public void Cleaning_never_throws_on_arbitrary_json()
    {
        var turn = Gen.Select(Text, Text).Select((f, v) => (JsonNode?)new JsonObject { ["from"] = f, ["value"] = v });
        var row = Gen.Select(Gen.OneOf(turn, Any(2)).List[0, 6], Any(3), Gen.OneOf(Any(0), Text.Select(t => (JsonNode?)JsonValue.Create(t))),
            (turns, tools, task) => new JsonObject { ["conversations"] = new JsonArray([.. turns]), ["tools"] = tools, ["task"] = task });
        row.Sample(r =>
        {
            var raw = r.ToJsonString();
            var outcome = HermesCleaner.Clean(HermesRow.FromJson(raw));
            // tools given as a JSON string go through the same path
            r["tools"] = JsonValue.Create(r["tools"]?.ToJsonString() ?? "");
            _ = HermesCleaner.Clean(HermesRow.FromJson(r.ToJsonString()));
            Assert.True(outcome.Kept ^ outcome.Dropped is not null);
        }, iter: 3000);
    }
}

public class CleanRowTests
{
    [Fact]
    public void Clean_row_json_round_trips()
    {
        var tools = ToolNormalizer.Normalize(JsonValue.Create("[{\"name\": \"f\", \"parameters\": {\"x\": {\"type\": \"List[int]\", \"description\": \"xs\"}}}]"));
        var row = new CleanRow("Sum 1e-5 and 東京", "f", "{\"x\": [1, 2.5e-07]}", tools);
        var json = row.ToJson();
        Assert.Equal("{\"user_content\": \"Sum 1e-5 and 東京\", \"tool_name\": \"f\", \"tool_arguments\": \"{\\\"x\\\": [1, 2.5e-07]}\", \"tools\": "
                     + "[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"\", \"parameters\": {\"type\": \"object\", \"properties\": "
                     + "{\"x\": {\"type\": \"array\", \"items\": {\"type\": \"integer\"}, \"description\": \"xs\"}}, \"required\": [\"x\"]}}}]}", json);
        var back = CleanRow.FromJson(json);
        Assert.Equal(json, back.ToJson());
    }
}
