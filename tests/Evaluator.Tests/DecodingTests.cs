using FunctionGemma.Core.Tokenizer;
using FunctionGemma.Evaluator.Evaluation;

namespace FunctionGemma.Evaluator.Tests;

/// <summary>The reference decodes the new tokens with skip_special_tokens=True and strips: the call markers survive.</summary>
public sealed class DecodingTests
{
    private static readonly Lazy<GemmaTokenizer> Tokenizer = new(() => GemmaTokenizer.LoadFunctionGemma());

    [Theory]
    [InlineData(FunctionGemmaTokens.StartFunctionResponse)]
    [InlineData(FunctionGemmaTokens.EndOfTurn)]
    [InlineData(FunctionGemmaTokens.Eos)]
    public void Stop_tokens_are_dropped_and_call_markers_kept(int stop)
    {
        var t = Tokenizer.Value;
        var ids = t.Encode(Rows.WeatherCall, addBos: false).Append(stop).ToArray();
        Assert.Contains(FunctionGemmaTokens.StartFunctionCall, ids);
        Assert.Contains(FunctionGemmaTokens.Escape, ids);
        Assert.Equal(Rows.WeatherCall, BatchedGeneration.DecodePrediction(t, ids));
    }

    [Fact]
    public void Decoded_text_is_stripped_like_python()
    {
        var t = Tokenizer.Value;
        var ids = t.Encode("\n  Sorry, I can't.  \n", addBos: false).Append(FunctionGemmaTokens.EndOfTurn).ToArray();
        Assert.Equal("Sorry, I can't.", BatchedGeneration.DecodePrediction(t, ids));
    }

    [Fact]
    public void Prompts_carry_exactly_one_bos_and_end_with_the_generation_prompt()
    {
        var t = Tokenizer.Value;
        var ids = BatchedGeneration.PromptTokens(t, Rows.Weather(0));
        Assert.Equal(FunctionGemmaTokens.Bos, ids[0]);
        Assert.NotEqual(FunctionGemmaTokens.Bos, ids[1]);
        var text = t.Decode(ids, skipSpecial: false);
        Assert.StartsWith("<bos><start_of_turn>developer\nYou are a model that can do function calling with the following functions<start_function_declaration>declaration:get_weather{", text);
        Assert.EndsWith("<start_of_turn>user\nWhat's the weather in Paris?<end_of_turn>\n<start_of_turn>model\n", text);
    }
}
