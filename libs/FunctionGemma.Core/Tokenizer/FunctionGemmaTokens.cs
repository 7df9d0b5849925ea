using System.Collections.Immutable;

namespace FunctionGemma.Core.Tokenizer;

/// <summary>
/// Token ids and texts of FunctionGemma (google/functiongemma-270m-it): the Gemma 3 vocabulary with
/// <c>&lt;unused40&gt;</c>..<c>&lt;unused46&gt;</c> (ids 46–52) renamed to the function-calling control tokens.
/// </summary>
public static class FunctionGemmaTokens
{
    /// <summary><c>&lt;pad&gt;</c>.</summary>
    public const int Pad = 0;
    /// <summary><c>&lt;eos&gt;</c>: FunctionGemma's end-of-sequence token.</summary>
    public const int Eos = 1;
    /// <summary><c>&lt;bos&gt;</c>.</summary>
    public const int Bos = 2;
    /// <summary><c>&lt;unk&gt;</c>.</summary>
    public const int Unk = 3;
    /// <summary><c>&lt;mask&gt;</c>.</summary>
    public const int Mask = 4;
    /// <summary><c>&lt;start_function_declaration&gt;</c> (was <c>&lt;unused40&gt;</c>).</summary>
    public const int StartFunctionDeclaration = 46;
    /// <summary><c>&lt;end_function_declaration&gt;</c> (was <c>&lt;unused41&gt;</c>).</summary>
    public const int EndFunctionDeclaration = 47;
    /// <summary><c>&lt;start_function_call&gt;</c> (was <c>&lt;unused42&gt;</c>).</summary>
    public const int StartFunctionCall = 48;
    /// <summary><c>&lt;end_function_call&gt;</c> (was <c>&lt;unused43&gt;</c>).</summary>
    public const int EndFunctionCall = 49;
    /// <summary><c>&lt;start_function_response&gt;</c> (was <c>&lt;unused44&gt;</c>); the model emits it after its calls, so generation stops on it.</summary>
    public const int StartFunctionResponse = 50;
    /// <summary><c>&lt;end_function_response&gt;</c> (was <c>&lt;unused45&gt;</c>).</summary>
    public const int EndFunctionResponse = 51;
    /// <summary><c>&lt;escape&gt;</c> (was <c>&lt;unused46&gt;</c>): opens and closes every string value.</summary>
    public const int Escape = 52;
    /// <summary><c>&lt;start_of_turn&gt;</c>.</summary>
    public const int StartOfTurn = 105;
    /// <summary><c>&lt;end_of_turn&gt;</c>.</summary>
    public const int EndOfTurn = 106;

    /// <summary>Ids that end generation in Google's own FunctionGemma code: <c>&lt;eos&gt;</c>, <c>&lt;end_of_turn&gt;</c>, <c>&lt;start_function_response&gt;</c>.</summary>
    public static ImmutableArray<int> DefaultStopIds { get; } = [Eos, EndOfTurn, StartFunctionResponse];

    /// <summary>The seven renamed ids with their Gemma 3 and FunctionGemma texts, in id order.</summary>
    public static ImmutableArray<(int Id, string Gemma3Text, string FunctionGemmaText)> Renamed { get; } =
    [
        (StartFunctionDeclaration, "<unused40>", "<start_function_declaration>"),
        (EndFunctionDeclaration, "<unused41>", "<end_function_declaration>"),
        (StartFunctionCall, "<unused42>", "<start_function_call>"),
        (EndFunctionCall, "<unused43>", "<end_function_call>"),
        (StartFunctionResponse, "<unused44>", "<start_function_response>"),
        (EndFunctionResponse, "<unused45>", "<end_function_response>"),
        (Escape, "<unused46>", "<escape>"),
    ];

    /// <summary>
    /// Tokens FunctionGemma's tokenizer_config.json names as special (bos, eos, unk, pad, mask, the image tokens and
    /// <c>sfr_token</c> = <c>&lt;start_function_response&gt;</c>). Transformers marks named tokens special, so together with
    /// the <c>special</c> flags of the Gemma 3 tokenizer.json (which add <c>&lt;start_of_turn&gt;</c>/<c>&lt;end_of_turn&gt;</c>)
    /// they decide what <c>skip_special_tokens=True</c> removes: <c>&lt;start_function_response&gt;</c> goes, while the
    /// declaration/call/escape tokens and <c>&lt;end_function_response&gt;</c> stay (they are only added tokens). Checked
    /// with transformers 5.17 on a FunctionGemma-style tokenizer_config.json: it skips exactly ids 0–4, 50, 105, 106,
    /// 255999, 256000 and 262144, also when the tokenizer.json itself flags only Gemma 3's special tokens
    /// (meta.transformers in the tokenizer fixtures).
    /// </summary>
    public static ImmutableArray<string> NamedSpecialTokens { get; } =
        ["<bos>", "<eos>", "<unk>", "<pad>", "<mask>", "<start_of_image>", "<end_of_image>", "<image_soft_token>", "<start_function_response>"];
}
