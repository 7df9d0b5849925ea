using System.Text.Json.Nodes;

namespace FunctionGemma.Core.Tests;

/// <summary>Reads the conformance fixtures copied next to the test assembly.</summary>
internal static class Fixture
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    public static JsonNode Load(string name) => JsonNode.Parse(File.ReadAllText(Path(name)))!;
}
