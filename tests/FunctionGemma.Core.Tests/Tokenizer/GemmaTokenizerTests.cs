using System.Text;
using FunctionGemma.Core.Tokenizer;

namespace FunctionGemma.Core.Tests.Tokenizer;

public class GemmaTokenizerTests
{
    private static GemmaTokenizer Tok => SharedTokenizers.FunctionGemma;

    // llama.cpp b10621 /tokenize of an official-template prompt against unsloth/functiongemma-270m-it-GGUF (functiongemma-format.md F4).
    private const string GoldenText =
        "<bos><start_of_turn>developer\nYou are a model that can do function calling with the following functions<start_function_declaration>declaration:get_weather{description:<escape>Get current weather for a location<escape>,parameters:{properties:{location:{description:<escape>City name<escape>,type:<escape>STRING<escape>}},required:[<escape>location<escape>],type:<escape>OBJECT<escape>}}<end_function_declaration><end_of_turn>\n<start_of_turn>user\nWhat's the weather in Paris?<end_of_turn>\n<start_of_turn>model\n";

    private static readonly int[] GoldenIds =
    [
        2, 105, 55060, 107, 3048, 659, 496, 2028, 600, 740, 776, 1292, 11687, 607, 506, 2269, 5151,
        46, 163688, 236787, 828, 236779, 19323, 236782, 7777, 236787, 52, 3407, 1873, 7606, 573, 496, 4563, 52, 236764, 19031, 29616,
        15921, 29616, 7125, 29616, 7777, 236787, 52, 17698, 1463, 52, 236764, 2084, 236787, 52, 35410, 52, 5237, 15979, 24845, 52, 7125,
        52, 1604, 2084, 236787, 52, 60688, 52, 1807, 47, 106, 107, 105, 2364, 107, 3689, 236789, 236751, 506, 7606, 528, 9079,
        236881, 106, 107, 105, 4368, 107,
    ];

    [Fact]
    public void Template_prompt_matches_the_85_id_llama_cpp_golden_vector()
    {
        Assert.Equal(85, GoldenIds.Length);
        Assert.Equal(GoldenIds, Tok.Encode(GoldenText, addBos: false));
    }

    [Fact]
    public void AddBos_prepends_one_bos_and_keeps_a_literal_bos_of_the_text()
    {
        Assert.Equal([2, .. GoldenIds], Tok.Encode(GoldenText, addBos: true));
        Assert.Equal([FunctionGemmaTokens.Bos], Tok.Encode("", addBos: true));
        Assert.Empty(Tok.Encode("", addBos: false));
    }

    [Fact]
    public void Function_calling_tokens_are_ids_46_to_52_and_encode_whole()
    {
        foreach (var (id, gemma3Text, text) in FunctionGemmaTokens.Renamed)
        {
            Assert.Equal(id, Tok.TokenToId(text));
            Assert.Equal(text, Tok.IdToToken(id));
            Assert.Equal([id], Tok.Encode(text, addBos: false));
            Assert.False(Tok.TryTokenToId(gemma3Text, out _));
        }
        Assert.Equal([105, 2364, 107], Tok.Encode("<start_of_turn>user\n", addBos: false));
        Assert.Equal((0, 1, 2), (Tok.PadId, Tok.EosId, Tok.BosId));
        Assert.Equal(FunctionGemmaTokens.EndOfTurn, Tok.TokenToId("<end_of_turn>"));
    }

    [Fact]
    public void Skip_special_removes_start_function_response_and_turn_markers_but_keeps_calls_and_escape()
    {
        var text = "<start_function_call>call:f{a:<escape>x<escape>}<end_function_call><start_function_response>";
        var ids = Tok.Encode(text, addBos: true);
        Assert.Equal("<bos>" + text, Tok.Decode(ids, skipSpecial: false));
        Assert.Equal("<start_function_call>call:f{a:<escape>x<escape>}<end_function_call>", Tok.Decode(ids, skipSpecial: true));
        Assert.Equal("hi", Tok.Decode(Tok.Encode("<start_of_turn>hi<end_of_turn><eos><pad>", addBos: true), skipSpecial: true));
        int[] kept = [46, 47, 48, 49, 51, 52, 107];
        Assert.All(kept, id => Assert.False(Tok.IsSpecial(id)));
        int[] special = [0, 1, 2, 3, 4, 50, 105, 106];
        Assert.All(special, id => Assert.True(Tok.IsSpecial(id)));
    }

    [Fact]
    public void Characters_outside_the_vocabulary_fall_back_to_utf8_byte_tokens_and_decode_back()
    {
        // U+1D518 (mathematical fraktur U) is not a Gemma 3 piece: four byte tokens <0xF0><0x9D><0x94><0x98>.
        var ids = Tok.Encode("\U0001D518", addBos: false);
        Assert.Equal(["<0xF0>", "<0x9D>", "<0x94>", "<0x98>"], ids.Select(Tok.IdToToken));
        Assert.Equal("\U0001D518", Tok.Decode(ids, skipSpecial: true));
        // A lone continuation byte is not UTF-8: the decoder writes U+FFFD, as Hugging Face does.
        Assert.Equal("a\uFFFDb", Tok.Decode([Tok.TokenToId("a"), Tok.TokenToId("<0x9D>"), Tok.TokenToId("b")], skipSpecial: false));
    }

    [Fact]
    public void Skipping_a_special_token_joins_the_byte_tokens_around_it_as_hugging_face_does()
    {
        int[] ids = [Tok.TokenToId("<0xF0>"), FunctionGemmaTokens.StartFunctionResponse, Tok.TokenToId("<0x9F>"), Tok.TokenToId("<0xA6>"), Tok.TokenToId("<0x9C>")];
        Assert.Equal("\U0001F99C", Tok.Decode(ids, skipSpecial: true));
        Assert.Equal("\uFFFD<start_function_response>\uFFFD\uFFFD\uFFFD", Tok.Decode(ids, skipSpecial: false));
    }

    [Theory]
    [InlineData("Hello world")]
    [InlineData("  two leading spaces, a tab\tand\n\n\nnewlines  ")]
    [InlineData("emoji 👩‍👩‍👧 flags 🇯🇵, CJK 東京の天気, RTL مرحبا שלום, combining e\u0301")]
    [InlineData("<start_of_turn>user\nx<end_of_turn>\n<unused40><unused99><escape")]
    public void Decode_of_encode_gives_the_text_back(string text)
    {
        Assert.Equal(text, Tok.Decode(Tok.Encode(text, addBos: false), skipSpecial: false));
    }

    [Fact]
    public void Concurrent_encodes_agree_with_sequential_ones()
    {
        var texts = Enumerable.Range(0, 400).Select(i => $"{GoldenText} request {i}: {new string('x', i % 37)} 東京 {i * 7919}").ToArray();
        var expected = texts.Select(t => Tok.Encode(t, addBos: true)).ToArray();
        var actual = new int[texts.Length][];
        Parallel.For(0, texts.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => actual[i] = Tok.Encode(texts[i], addBos: true));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Bad_input_throws_specific_exceptions()
    {
        Assert.Throws<ArgumentException>(() => Tok.Encode("lone \uD800 surrogate", addBos: false));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tok.Decode([5, -1], skipSpecial: false));
        Assert.Throws<KeyNotFoundException>(() => Tok.TokenToId("<no such token>"));
        Assert.Null(Tok.IdToToken(Tok.VocabSize));
    }

    [Fact]
    public void A_model_directory_with_a_tokenizer_json_is_loaded_as_it_is()
    {
        var dir = Directory.CreateTempSubdirectory("fg-tokenizer-test-");
        try
        {
            File.WriteAllBytes(Path.Combine(dir.FullName, "tokenizer.json"),
                GemmaTokenizer.DeriveFunctionGemmaTokenizerJson(File.ReadAllBytes(SharedTokenizers.Gemma3TokenizerJson)));
            File.WriteAllText(Path.Combine(dir.FullName, "tokenizer_config.json"),
                """{"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "sfr_token": "<start_function_response>"}""");
            using var fromDir = GemmaTokenizer.LoadFunctionGemma(dir.FullName);
            Assert.Equal(GoldenIds, fromDir.Encode(GoldenText, addBos: false));
            Assert.Equal(Tok.SpecialIds, fromDir.SpecialIds);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Plain_gemma3_files_keep_the_unused_names()
    {
        using var gemma3 = GemmaTokenizer.FromFiles(SharedTokenizers.Gemma3TokenizerJson);
        Assert.Equal("<unused44>", gemma3.IdToToken(50));
        Assert.False(gemma3.IsSpecial(50));
        Assert.Equal([50], gemma3.Encode("<unused44>", addBos: false));
        // Deriving twice is refused: ids 46-52 are no longer <unused40>..<unused46>.
        var derived = Path.Combine(Path.GetTempPath(), $"fg-tok-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllBytes(derived, GemmaTokenizer.DeriveFunctionGemmaTokenizerJson(File.ReadAllBytes(SharedTokenizers.Gemma3TokenizerJson)));
            Assert.Throws<InvalidDataException>(() => GemmaTokenizer.FunctionGemmaFromGemma3(derived));
        }
        finally
        {
            File.Delete(derived);
        }
    }
}
