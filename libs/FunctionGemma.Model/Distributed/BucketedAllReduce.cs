using static TorchSharp.torch;

namespace FunctionGemma.Model.Distributed;

/// <summary>
/// The <see cref="GradientAllReduce"/> hook of <see cref="SftTrainer"/> over a set of <see cref="ICollectives"/>: the flat
/// fp32 gradient buffer is summed in buckets (contiguous slices, so each is one NCCL call on its own memory and no
/// bucket ever needs a staging copy), then the step's <c>[lossSum, correct, tokens]</c> statistics.
/// </summary>
public static class BucketedAllReduce
{
    /// <summary>Default bucket: 32 Mi elements (128 MiB of fp32).</summary>
    public const long DefaultBucketElements = 32L << 20;

    /// <summary>The hook, or null at world size 1 (a single process needs no reducer).</summary>
    public static GradientAllReduce? For(ICollectives collectives, long bucketElements = DefaultBucketElements)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketElements, 1);
        if (collectives.WorldSize == 1) return null;
        return (flatGradients, stats) =>
        {
            foreach (var (offset, length) in Buckets(flatGradients.NumberOfElements, bucketElements))
            {
                using var bucket = flatGradients.narrow(0, offset, length);
                collectives.AllReduceSum(bucket);
            }
            collectives.AllReduceSum(stats);
        };
    }

    /// <summary>The (offset, length) slices of a buffer of <paramref name="elements"/>, in order, covering it once.</summary>
    public static IEnumerable<(long Offset, long Length)> Buckets(long elements, long bucketElements)
    {
        for (long offset = 0; offset < elements; offset += bucketElements)
            yield return (offset, Math.Min(bucketElements, elements - offset));
    }
}
