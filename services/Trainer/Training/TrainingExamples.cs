using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Prompt;
using FunctionGemma.Core.Tokenizer;
using static TorchSharp.torch;

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

/// <summary>
/// Which examples each rank trains on at each optimizer step. Epoch e visits the rows in a permutation drawn from
/// <c>seed + e</c> (torch.randperm on a CPU generator, so every rank draws the same one); optimizer step k of an epoch
/// takes the next <c>global batch</c> rows of it, and rank r takes its contiguous share, cut into micro-batches.
/// Nothing here depends on wall clock or past state, so a resumed run sees exactly the batches it would have seen.
/// </summary>
public sealed class StepPlan(int examples, TrainingSettings settings, int worldSize)
{
    readonly Dictionary<int, int[]> _orders = new();

    /// <summary>Steps per epoch.</summary>
    public int StepsPerEpoch { get; } = settings.StepsPerEpoch(examples, worldSize);

    /// <summary>Row indices, in order, of epoch <paramref name="epoch"/>.</summary>
    public int[] EpochOrder(int epoch)
    {
        if (_orders.TryGetValue(epoch, out var order)) return order;
        var gen = new Generator(settings.Seed + (ulong)epoch);
        using var perm = randperm(examples, generator: gen);
        order = perm.data<long>().Select(x => (int)x).ToArray();
        _orders.Clear(); // one epoch at a time
        _orders[epoch] = order;
        return order;
    }

    /// <summary>Every row of optimizer step <paramref name="step"/> (0-based), all ranks.</summary>
    public ArraySegment<int> StepRows(int step)
    {
        int epoch = step / StepsPerEpoch, k = step % StepsPerEpoch;
        var order = EpochOrder(epoch);
        int g = settings.GlobalBatch(worldSize);
        int start = Math.Min(order.Length, k * g);
        return new ArraySegment<int>(order, start, Math.Min(g, order.Length - start));
    }

    /// <summary>The micro-batches (row indices) rank <paramref name="rank"/> runs for step <paramref name="step"/>; may be empty on a short last step.</summary>
    public IReadOnlyList<int[]> MicroBatches(int step, int rank)
    {
        var rows = StepRows(step);
        int share = settings.PerDeviceBatch * settings.GradAccumulation;
        int start = Math.Min(rows.Count, rank * share);
        var mine = rows.Slice(start, Math.Min(share, rows.Count - start));
        return mine.Chunk(settings.PerDeviceBatch).ToArray();
    }
}
