using static TorchSharp.torch;

namespace FunctionGemma.Model;

/// <summary>One training example: token ids and labels of equal length (label -100 where no loss is taken).</summary>
/// <param name="InputIds">Token ids.</param>
/// <param name="Labels">Targets in HF convention (the id itself, or -100).</param>
public sealed record TrainingExample(int[] InputIds, int[] Labels);

/// <summary>
/// Length bucketing: examples of similar length share a batch, padded on the right to the longest (rounded up to a
/// multiple of 8), so short rows do not pay for the longest sequence of the dataset.
/// </summary>
public static class LengthBuckets
{
    /// <summary>
    /// Groups <paramref name="examples"/> into batches of at most <paramref name="maxTokensPerBatch"/> padded tokens
    /// (and at most <paramref name="maxRows"/> rows), in a batch order shuffled by <paramref name="seed"/>.
    /// </summary>
    public static List<TrainingBatch> Batches(IReadOnlyList<TrainingExample> examples, int maxTokensPerBatch, int padTokenId,
        int seed, int maxRows = int.MaxValue, int multipleOf = 8)
    {
        foreach (var e in examples)
            if (e.InputIds.Length != e.Labels.Length) throw new ArgumentException("An example's ids and labels differ in length.", nameof(examples));
        var order = Enumerable.Range(0, examples.Count).OrderBy(i => examples[i].InputIds.Length).ToList();
        var groups = new List<List<int>>();
        var current = new List<int>();
        int currentLen = 0;
        foreach (var i in order)
        {
            int len = RoundUp(examples[i].InputIds.Length, multipleOf);
            int newLen = Math.Max(currentLen, len);
            if (current.Count > 0 && ((current.Count + 1) * newLen > maxTokensPerBatch || current.Count + 1 > maxRows))
            {
                groups.Add(current);
                current = [];
                newLen = len;
            }
            current.Add(i);
            currentLen = newLen;
        }
        if (current.Count > 0) groups.Add(current);
        var rng = new Random(seed);
        rng.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(groups));
        return groups.Select(g => Pad(g.Select(i => examples[i]).ToList(), padTokenId, multipleOf)).ToList();
    }

    static int RoundUp(int n, int m) => (n + m - 1) / m * m;

    /// <summary>Right-pads examples into one batch (ids with <paramref name="padTokenId"/>, labels with -100).</summary>
    public static TrainingBatch Pad(IReadOnlyList<TrainingExample> rows, int padTokenId, int multipleOf = 8)
    {
        int t = RoundUp(rows.Max(r => r.InputIds.Length), multipleOf);
        var ids = new long[rows.Count * t];
        var labels = new long[rows.Count * t];
        Array.Fill(ids, padTokenId);
        Array.Fill(labels, TrainingBatch.IgnoreIndex);
        for (int r = 0; r < rows.Count; r++)
            for (int j = 0; j < rows[r].InputIds.Length; j++)
            {
                ids[r * t + j] = rows[r].InputIds[j];
                labels[r * t + j] = rows[r].Labels[j];
            }
        return new TrainingBatch(tensor(ids, [rows.Count, t]), tensor(labels, [rows.Count, t]));
    }
}
