using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace FunctionGemma.Model.Distributed;

/// <summary>
/// The <see cref="IDataParallel"/> of <see cref="SftTrainer"/> over a set of <see cref="ICollectives"/>: first the
/// step's <c>[lossSum, correct, tokens]</c> statistics, then the flat fp32 gradient buffer: all-reduced in buckets
/// (contiguous slices, so each is one NCCL call on its own memory and no bucket needs a staging copy), or
/// reduce-scattered in one call when the optimizer is sharded. The statistics go first because their all-reduce is a
/// barrier: timed, it tells how long this rank waited for the slowest one, and the gradients after it time the
/// transfer alone.
/// </summary>
public static class BucketedAllReduce
{
    /// <summary>Default bucket: 32 Mi elements (128 MiB of fp32).</summary>
    public const long DefaultBucketElements = 32L << 20;

    /// <summary>
    /// The reducer, or null at world size 1 without <paramref name="timing"/> (a single process needs none). With
    /// <paramref name="timing"/>, the device is synchronized after the statistics and after the gradients so each
    /// phase can be timed; <see cref="SftTrainer"/> has already waited for the backward before the reduction and waits
    /// for the statistics after it, so this adds two waits on an idle stream, not a stall.
    /// </summary>
    public static IDataParallel? For(ICollectives collectives, long bucketElements = DefaultBucketElements, AllReduceTiming? timing = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketElements, 1);
        if (collectives.WorldSize == 1 && timing is null) return null;
        return new Reducer(collectives, bucketElements, timing);
    }

    sealed class Reducer(ICollectives collectives, long bucketElements, AllReduceTiming? timing) : IDataParallel
    {
        public int Rank => collectives.Rank;
        public int WorldSize => collectives.WorldSize;
        public void AllReduceSum(Tensor tensor) => collectives.AllReduceSum(tensor);
        public void AllGather(Tensor tensor) => collectives.AllGather(tensor);

        public void ReduceGradients(Tensor flatGradients, Tensor stats, bool scatter)
        {
            long entered = Stopwatch.GetTimestamp();
            collectives.AllReduceSum(stats);
            if (timing is not null) Synchronize(stats);
            long waited = Stopwatch.GetTimestamp();
            if (scatter) collectives.ReduceScatterSum(flatGradients);
            else
            {
                foreach (var (offset, length) in Buckets(flatGradients.NumberOfElements, bucketElements))
                {
                    using var bucket = flatGradients.narrow(0, offset, length);
                    collectives.AllReduceSum(bucket);
                }
            }
            if (timing is null) return;
            Synchronize(flatGradients);
            timing.Record(entered, waited, Stopwatch.GetTimestamp());
        }
    }

    static void Synchronize(Tensor onDevice)
    {
        if (onDevice.device_type == DeviceType.CUDA) cuda.synchronize();
    }

    /// <summary>The (offset, length) slices of a buffer of <paramref name="elements"/>, in order, covering it once.</summary>
    public static IEnumerable<(long Offset, long Length)> Buckets(long elements, long bucketElements)
    {
        for (long offset = 0; offset < elements; offset += bucketElements)
            yield return (offset, Math.Min(bucketElements, elements - offset));
    }
}

/// <summary>
/// When the last call of a timed <see cref="BucketedAllReduce"/> hook began and ended (<see cref="Stopwatch"/>
/// timestamps), and how long it waited for the other ranks and then moved the gradients.
/// </summary>
public sealed class AllReduceTiming
{
    /// <summary>Timestamp at which the reduction was entered (the backward of every micro-batch had finished).</summary>
    public long Entered { get; private set; }

    /// <summary>Timestamp at which the hook returned (gradients summed on the device).</summary>
    public long Left { get; private set; }

    /// <summary>Seconds spent in the statistics all-reduce: waiting for the slowest rank, plus one small collective.</summary>
    public double WaitSeconds { get; private set; }

    /// <summary>Seconds spent reducing the gradients (all-reduce of the buckets, or the reduce-scatter when sharded).</summary>
    public double TransferSeconds { get; private set; }

    /// <summary>Hook calls so far.</summary>
    public long Calls { get; private set; }

    internal void Record(long entered, long waited, long left)
    {
        Entered = entered;
        Left = left;
        WaitSeconds = Stopwatch.GetElapsedTime(entered, waited).TotalSeconds;
        TransferSeconds = Stopwatch.GetElapsedTime(waited, left).TotalSeconds;
        Calls++;
    }
}
