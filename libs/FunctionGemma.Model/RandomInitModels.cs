using FunctionGemma.Core;
using FunctionGemma.Core.Tokenizer;
using static TorchSharp.torch;

namespace FunctionGemma.Model;

/// <summary>
/// Random-init Gemma 3 model directories for runs without real weights (quickstart, tests, benchmarks):
/// HF's initialization from a seed, saved with FunctionGemma's tokenizer derived from the Gemma 3 npm files.
/// </summary>
public static class RandomInitModels
{
    private const string TokenizerConfigJson = """
        {
          "bos_token": "<bos>",
          "eos_token": "<eos>",
          "pad_token": "<pad>",
          "unk_token": "<unk>",
          "mask_token": "<mask>",
          "sfr_token": "<start_function_response>",
          "padding_side": "left",
          "spaces_between_special_tokens": false,
          "clean_up_tokenization_spaces": false,
          "tokenizer_class": "GemmaTokenizer"
        }
        """;

    /// <summary>The sizes that can be created.</summary>
    public static readonly IReadOnlyList<string> Sizes = ["tiny", "270m"];

    /// <summary>The architecture of a named size.</summary>
    public static Gemma3Config ConfigFor(string size) => size switch
    {
        "tiny" => Gemma3Config.Tiny(),
        "270m" => Gemma3Config.FunctionGemma270M(),
        _ => throw new ArgumentException($"Random-init size '{size}' is not one of {string.Join(", ", Sizes)}.", nameof(size)),
    };

    /// <summary>
    /// Writes a HF model directory (config, generation config with FunctionGemma's stop ids, safetensors, tokenizer)
    /// to <paramref name="directory"/>. Tiny models are saved in fp32 (they train on CPU), 270M in bf16 as released.
    /// </summary>
    public static void Create(string size, ulong seed, string directory, string? gemma3TokenizerDir = null)
    {
        var config = ConfigFor(size) with { EosTokenIds = FunctionGemmaTokens.DefaultStopIds.ToArray() };
        using var model = Gemma3ForCausalLM.Create(config, (long)seed);
        HfModelDirectory.Save(model, directory, size == "tiny" ? ScalarType.Float32 : ScalarType.BFloat16);

        var tokenizerDir = gemma3TokenizerDir ?? RepoPaths.Gemma3TokenizerDir();
        File.WriteAllBytes(Path.Combine(directory, "tokenizer.json"),
            GemmaTokenizer.DeriveFunctionGemmaTokenizerJson(File.ReadAllBytes(Path.Combine(tokenizerDir, "tokenizer.json"))));
        // Gemma 3's tokenizer_config.json carries Gemma 3's chat template, which is not FunctionGemma's: write the
        // token settings FunctionGemma's own config has instead, and no template.
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), TokenizerConfigJson);
    }
}
