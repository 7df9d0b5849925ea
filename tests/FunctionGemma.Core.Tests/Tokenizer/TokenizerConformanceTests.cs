using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FunctionGemma.Core.Tokenizer;

namespace FunctionGemma.Core.Tests.Tokenizer;

/// <summary>
/// Id- and text-exact agreement with Python Hugging Face <c>tokenizers</c> on Fixtures/tokenizer_fixtures.json, which
/// Fixtures/make_tokenizer_fixtures.py produced on the device machine from the same derived FunctionGemma vocabulary.
/// </summary>
public class TokenizerConformanceTests
{
    private static GemmaTokenizer Tok => SharedTokenizers.FunctionGemma;

    private static readonly Lazy<FixtureFile> Fixtures = new(() => JsonSerializer.Deserialize<FixtureFile>(
        File.ReadAllBytes(Path.Combine(RepoPaths.Root(), "tests", "FunctionGemma.Core.Tests", "Tokenizer", "Fixtures", "tokenizer_fixtures.json")))!);

    [Fact]
    public void Fixture_set_is_large_and_covers_rendered_prompts()
    {
        var f = Fixtures.Value;
        Assert.True(f.Encode.Length >= 800, $"only {f.Encode.Length} encode cases");
        Assert.True(f.Encode.Count(c => c.Kind == "rendered") >= 200);
        Assert.True(f.Encode.Count(c => c.Kind == "sample") >= 100, "the sample set's training texts are missing");
        Assert.True(f.Decode.Length >= 300);
    }

    [Fact]
    public void Reference_tokenizer_reproduces_the_llama_cpp_golden_vector()
    {
        Assert.True(Fixtures.Value.Meta.GoldenF4Equal);
    }

    [Fact]
    public void Encodes_match_hugging_face_with_and_without_bos()
    {
        var failures = new List<string>();
        foreach (var c in Fixtures.Value.Encode)
        {
            var ids = Tok.Encode(c.Text, addBos: false);
            if (!ids.SequenceEqual(c.Ids)) failures.Add($"[{c.Kind}] {Show(c.Text)}: add_special_tokens=False got [{string.Join(",", ids)}], want [{string.Join(",", c.Ids)}]");
            var withBos = Tok.Encode(c.Text, addBos: true);
            int[] want = c.IdsBos ?? [FunctionGemmaTokens.Bos, .. c.Ids];
            if (!withBos.SequenceEqual(want)) failures.Add($"[{c.Kind}] {Show(c.Text)}: add_special_tokens=True got [{string.Join(",", withBos)}], want [{string.Join(",", want)}]");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches of {2 * Fixtures.Value.Encode.Length}:\n" + string.Join("\n", failures.Take(10)));
    }

    [Fact]
    public void Decodes_of_encoded_texts_match_hugging_face_with_and_without_special_tokens()
    {
        var failures = new List<string>();
        foreach (var c in Fixtures.Value.Encode)
        {
            int[] ids = c.IdsBos ?? [FunctionGemmaTokens.Bos, .. c.Ids];
            var want = c.Decoded ?? "<bos>" + c.Text;
            var got = Tok.Decode(ids, skipSpecial: false);
            if (got != want) failures.Add($"[{c.Kind}] skip=False got {Show(got)}, want {Show(want)}");
            got = Tok.Decode(ids, skipSpecial: true);
            if (got != c.DecodedSkip) failures.Add($"[{c.Kind}] skip=True got {Show(got)}, want {Show(c.DecodedSkip)}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches:\n" + string.Join("\n", failures.Take(10)));
    }

    [Fact]
    public void Decodes_of_arbitrary_id_sequences_match_hugging_face()
    {
        // Random ids mixing byte-fallback tokens (valid and invalid UTF-8), special and control tokens.
        var failures = new List<string>();
        foreach (var c in Fixtures.Value.Decode)
        {
            var got = Tok.Decode(c.Ids, skipSpecial: false);
            if (got != c.Text) failures.Add($"[{string.Join(",", c.Ids)}] skip=False got {Show(got)}, want {Show(c.Text)}");
            got = Tok.Decode(c.Ids, skipSpecial: true);
            if (got != c.TextSkip) failures.Add($"[{string.Join(",", c.Ids)}] skip=True got {Show(got)}, want {Show(c.TextSkip)}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches:\n" + string.Join("\n", failures.Take(10)));
    }

    [Fact]
    public void Special_ids_match_the_reference_and_what_transformers_skips()
    {
        var meta = Fixtures.Value.Meta;
        Assert.Equal(meta.SpecialIds, Tok.SpecialIds);
        if (meta.Transformers.TryGetProperty("skipped_ids", out var skipped))
            Assert.Equal(skipped.EnumerateArray().Select(e => e.GetInt32()), Tok.SpecialIds);
    }

    private static string Show(string s)
    {
        var text = JsonSerializer.Serialize(s.Length > 160 ? s[..160] + "…" : s);
        return Encoding.ASCII.GetString(Encoding.ASCII.GetBytes(text));
    }

    private sealed record FixtureFile(
        [property: JsonPropertyName("meta")] FixtureMeta Meta,
        [property: JsonPropertyName("encode")] EncodeCase[] Encode,
        [property: JsonPropertyName("decode")] DecodeCase[] Decode);

    private sealed record FixtureMeta(
        [property: JsonPropertyName("tokenizers_version")] string TokenizersVersion,
        [property: JsonPropertyName("special_ids")] int[] SpecialIds,
        [property: JsonPropertyName("golden_f4_equal")] bool GoldenF4Equal,
        [property: JsonPropertyName("transformers")] JsonElement Transformers);

    private sealed record EncodeCase(
        [property: JsonPropertyName("kind")] string Kind,
        [property: JsonPropertyName("text")] string Text,
        [property: JsonPropertyName("ids")] int[] Ids,
        [property: JsonPropertyName("ids_bos")] int[]? IdsBos,
        [property: JsonPropertyName("decoded_skip")] string DecodedSkip,
        [property: JsonPropertyName("decoded")] string? Decoded);

    private sealed record DecodeCase(
        [property: JsonPropertyName("ids")] int[] Ids,
        [property: JsonPropertyName("text")] string Text,
        [property: JsonPropertyName("text_skip")] string TextSkip);
}
