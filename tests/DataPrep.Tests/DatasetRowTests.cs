using System.Text.Json.Nodes;
using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Json;
using FunctionGemma.Storage;

namespace FunctionGemma.DataPrep.Tests;

public sealed class DatasetRowTests
{
    [Fact]
    public void Row_json_round_trips_byte_for_byte_in_python_spelling()
    {
        var tools = (JsonArray)PythonJson.Loads("[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"Zürich 東京\", \"parameters\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"number\", \"default\": 1.0}}, \"required\": [\"x\"]}}}]")!;
        var row = new DatasetRow(7, 1234, new CleanRow("Wetter in Köln?\n", "f", "{\"x\": 1e-05}", tools), "single", "Glaive");
        var json = row.ToJson();
        Assert.Equal(
            "{\"index\": 7, \"source_row\": 1234, \"user_content\": \"Wetter in Köln?\\n\", \"tool_name\": \"f\", \"tool_arguments\": \"{\\\"x\\\": 1e-05}\", " +
            "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"Zürich 東京\", \"parameters\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"number\", \"default\": 1.0}}, \"required\": [\"x\"]}}}], " +
            "\"scenario_category\": \"single\", \"source\": \"Glaive\"}", json);
        var back = DatasetRow.FromJson(json);
        Assert.Equal(json, back.ToJson());
        var proto = back.ToProto();
        Assert.Equal(7, proto.Index);
        Assert.Equal(PythonJson.Dumps(tools), proto.ToolsJson);
        Assert.Equal("{\"x\": 1e-05}", proto.ToolArgumentsJson);
    }

    [Fact]
    public void Text_that_is_not_a_row_is_a_format_error()
    {
        Assert.Throws<FormatException>(() => DatasetRow.FromJson("[1]"));
        Assert.Throws<FormatException>(() => DatasetRow.FromJson("{\"index\": 1}"));
    }
}
