using System.Numerics;

namespace FunctionGemma.Core.Sampling;

/// <summary>
/// The recipe's seeded subset: Hugging Face <c>dataset.shuffle(seed).select(range(total))</c>, then the first
/// <see cref="TrainCount"/> rows for training and the rest for evaluation.
/// </summary>
/// <param name="Train">Source row indices of the train split, in shuffled order.</param>
/// <param name="Eval">Source row indices of the eval split, in shuffled order.</param>
public sealed record SubsetSplit(IReadOnlyList<int> Train, IReadOnlyList<int> Eval)
{
    /// <summary>Number of train rows.</summary>
    public int TrainCount => Train.Count;

    /// <summary>
    /// Shuffles <paramref name="rowCount"/> row indices with numpy's permutation for <paramref name="seed"/>, keeps the first
    /// <paramref name="total"/> (all when fewer rows exist) and splits them into <paramref name="trainCount"/> train rows and the rest.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative, or trainCount exceeds total.</exception>
    public static SubsetSplit Create(int rowCount, BigInteger seed, int total, int trainCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        ArgumentOutOfRangeException.ThrowIfNegative(trainCount);
        if (trainCount > total)
            throw new ArgumentOutOfRangeException(nameof(trainCount), trainCount, $"trainCount ({trainCount}) must not exceed total ({total}).");
        var perm = NumpyPermutation.Permutation(seed, rowCount);
        int kept = Math.Min(total, rowCount);
        int train = Math.Min(trainCount, kept);
        return new SubsetSplit(perm[..train], perm[train..kept]);
    }

    /// <summary>The reference recipe: seed 40, 3000 rows, 2700 train and 300 eval.</summary>
    public static SubsetSplit Reference(int rowCount) => Create(rowCount, 40, 3000, 2700);
}
