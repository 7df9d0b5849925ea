using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Prompt;
using FunctionGemma.Core.Tokenizer;

namespace FunctionGemma.Trainer.Training;

/// <summary>One tokenized example: input ids and the first index whose token is a training target.</summary>
/// <param name="Ids">Token ids after truncation.</param>
/// <param name="TargetStart">Tokens at index ≥ this are predicted (0 or 1 = every token after the first).</param>
public sealed record TokenizedExample(int[] Ids, int TargetStart)
{
    /// <summary>How many next-token predictions count in the loss.</summary>
    public int Targets => Math.Max(0, Ids.Length - Math.Max(1, TargetStart));
}

/// <summary>
/// Tokenization as TRL's SFTTrainer does it for the reference's plain-text rows: the text gets the EOS token
/// <em>appended as text</em> when it does not already end with it, then it is tokenized with the tokenizer's special
/// tokens on. FunctionGemma's tokenizer prepends <c>&lt;bos&gt;</c>, and the rendered text already starts with a literal
/// <c>&lt;bos&gt;</c>, so the ids start with two BOS — which is what the reference trained on, and what this matches.
/// Completion-only loss follows TRL's prompt/completion path: the prompt is tokenized the same way and its tokens are
/// masked. Truncation keeps the first <c>max_length</c> tokens.
/// </summary>
public static class TrlTokenization
{
    /// <summary>Tokenizes one clean row's reference example.</summary>
    public static TokenizedExample Tokenize(ITextTokenizer tokenizer, ReferenceExample example, LossOn lossOn, int maxLength)
    {
        const string eos = "<eos>";
        var completion = example.Target.EndsWith(eos, StringComparison.Ordinal) ? example.Target : example.Target + eos;
        var ids = tokenizer.Encode(example.Prompt + completion, addBos: true);
        int targetStart = 0;
        if (lossOn == LossOn.CompletionOnly)
        {
            targetStart = tokenizer.Encode(example.Prompt, addBos: true).Length;
        }
        if (ids.Length > maxLength) ids = ids[..maxLength];
        return new TokenizedExample(ids, Math.Min(targetStart, ids.Length));
    }

    /// <summary>Tokenizes rows in order.</summary>
    public static TokenizedExample[] TokenizeAll(ITextTokenizer tokenizer, IEnumerable<CleanRow> rows, LossOn lossOn, int maxLength) =>
        rows.AsParallel().AsOrdered().Select(r => Tokenize(tokenizer, ReferencePrompt.For(r), lossOn, maxLength)).ToArray();
}
