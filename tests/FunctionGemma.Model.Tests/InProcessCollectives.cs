using FunctionGemma.Model.Distributed;
using static TorchSharp.torch;

namespace FunctionGemma.Model.Tests;

/// <summary>
/// Collectives among threads of one process over CPU tensors, with the semantics of the NCCL ones (sum, in-place
/// reduce-scatter and all-gather over equal slices), so data-parallel training runs for real in CPU tests.
/// </summary>
sealed class InProcessCollectives : ICollectives
{
    sealed class Group(int world)
    {
        public readonly Barrier Barrier = new(world);
        public readonly Tensor?[] Slots = new Tensor?[world];
    }

    readonly Group group;

    InProcessCollectives(Group group, int rank) { this.group = group; Rank = rank; }

    /// <summary>One instance per rank; hand each to its own thread.</summary>
    public static InProcessCollectives[] Create(int world)
    {
        var g = new Group(world);
        return Enumerable.Range(0, world).Select(r => new InProcessCollectives(g, r)).ToArray();
    }

    public int Rank { get; }
    public int WorldSize => group.Slots.Length;

    // Publish, let every rank read what it needs, then let every rank write: no rank overwrites what another still reads.
    void Exchange(Tensor t, Func<Tensor> read, Action<Tensor> write)
    {
        group.Slots[Rank] = t;
        group.Barrier.SignalAndWait();
        using var result = read();
        group.Barrier.SignalAndWait();
        write(result);
        group.Barrier.SignalAndWait();
    }

    // The same slices as NCCL's wrapper, uneven ones refused rather than truncated.
    Tensor Slice(Tensor t, int r)
    {
        long n = CollectiveSlices.Length(t, WorldSize);
        return t.narrow(0, r * n, n);
    }

    Tensor SumOf(Func<Tensor, Tensor> part)
    {
        using var scope = NewDisposeScope();
        var sum = part(group.Slots[0]!).clone();
        for (int r = 1; r < WorldSize; r++) sum.add_(part(group.Slots[r]!));
        return sum.MoveToOuterDisposeScope();
    }

    public void AllReduceSum(Tensor tensor) => Exchange(tensor, () => SumOf(x => x), s => tensor.copy_(s));

    public void ReduceScatterSum(Tensor tensor) => Exchange(tensor, () => SumOf(x => Slice(x, Rank)), s => { using var mine = Slice(tensor, Rank); mine.copy_(s); });

    public void AllGather(Tensor tensor) => Exchange(tensor, () =>
    {
        using var scope = NewDisposeScope();
        return cat(Enumerable.Range(0, WorldSize).Select(r => Slice(group.Slots[r]!, r)).ToArray()).MoveToOuterDisposeScope();
    }, all => tensor.copy_(all));

    public void Abort() { }
    public void Dispose() { }
}
