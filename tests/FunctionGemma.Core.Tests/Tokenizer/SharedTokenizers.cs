using FunctionGemma.Core.Tokenizer;

namespace FunctionGemma.Core.Tests.Tokenizer;

/// <summary>Loading takes about a second, so the tests share one FunctionGemma tokenizer derived from the Gemma 3 files.</summary>
internal static class SharedTokenizers
{
    private static readonly Lazy<GemmaTokenizer> FunctionGemmaLazy = new(() => GemmaTokenizer.LoadFunctionGemma());

    public static GemmaTokenizer FunctionGemma => FunctionGemmaLazy.Value;

    public static string Gemma3TokenizerJson => Path.Combine(RepoPaths.Gemma3TokenizerDir(), "tokenizer.json");
}
