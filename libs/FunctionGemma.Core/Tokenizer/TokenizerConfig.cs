using System.Text.Json;

namespace FunctionGemma.Core.Tokenizer;

/// <summary>What a Hugging Face tokenizer_config.json says about special tokens.</summary>
internal sealed record TokenizerConfig(string? Bos, string? Eos, string? Pad, IReadOnlySet<string> NamedSpecial)
{
    public static TokenizerConfig Empty { get; } = new(null, null, null, new HashSet<string>());

    public static TokenizerConfig Read(byte[] json, string source)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new InvalidDataException($"{source} is not valid JSON: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            var named = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in root.EnumerateObject())
            {
                // bos_token, eos_token, ..., and model-specific ones such as sfr_token or image_token.
                if (p.Name.EndsWith("_token", StringComparison.Ordinal))
                {
                    if (TokenText(p.Value) is { } t) named.Add(t);
                }
                else if (p.Name is "additional_special_tokens" or "extra_special_tokens" or "model_specific_special_tokens")
                {
                    var values = p.Value.ValueKind switch
                    {
                        JsonValueKind.Array => p.Value.EnumerateArray().ToArray(),
                        JsonValueKind.Object => p.Value.EnumerateObject().Select(o => o.Value).ToArray(),
                        _ => [],
                    };
                    foreach (var v in values)
                        if (TokenText(v) is { } s) named.Add(s);
                }
                else if (p.Name == "added_tokens_decoder" && p.Value.ValueKind == JsonValueKind.Object)
                {
                    foreach (var entry in p.Value.EnumerateObject())
                        if (entry.Value.TryGetProperty("special", out var sp) && sp.ValueKind == JsonValueKind.True && TokenText(entry.Value) is { } c)
                            named.Add(c);
                }
            }
            return new TokenizerConfig(Text(root, "bos_token"), Text(root, "eos_token"), Text(root, "pad_token"), named);
        }
    }

    private static string? Text(JsonElement root, string name) => root.TryGetProperty(name, out var v) ? TokenText(v) : null;

    // A token is written either as its text or as an AddedToken object {"content": ...}.
    private static string? TokenText(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
        _ => null,
    };
}
