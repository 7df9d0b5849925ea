using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FunctionGemma.Model.Distributed;

/// <summary>Where one parameter lives in the flat buffers: bucket, offset and shape.</summary>
/// <param name="Name">The parameter's Hugging Face name.</param>
/// <param name="Bucket">Index of its bucket.</param>
/// <param name="Offset">First element within the bucket.</param>
/// <param name="Shape">The parameter's shape.</param>
public sealed record FlatSlot(string Name, int Bucket, long Offset, long[] Shape)
{
    /// <summary>Number of elements.</summary>
    public long Numel => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// Parameters packed, in model order, into buckets of contiguous memory (a parameter never straddles two buckets;
/// one larger than the bucket size gets a bucket of its own). The same layout serves gradients, fp32 master weights
/// and optimizer moments, so each is a handful of large tensors.
/// </summary>
public sealed class FlatLayout
{
    /// <summary>Default bucket size: 32 Mi elements (128 MiB of fp32).</summary>
    public const long DefaultBucketElements = 32L << 20;

    /// <summary>Packs <paramref name="parameters"/> (name, shape) into buckets of at most <paramref name="bucketElements"/>.</summary>
    public FlatLayout(IEnumerable<(string Name, long[] Shape)> parameters, long bucketElements = DefaultBucketElements)
    {
        var slots = new List<FlatSlot>();
        var sizes = new List<long>();
        foreach (var (name, shape) in parameters)
        {
            long n = shape.Aggregate(1L, (a, b) => a * b);
            if (sizes.Count == 0 || (sizes[^1] > 0 && sizes[^1] + n > bucketElements)) sizes.Add(0);
            slots.Add(new FlatSlot(name, sizes.Count - 1, sizes[^1], shape));
            sizes[^1] += n;
        }
        Slots = slots;
        BucketSizes = sizes;
    }

    /// <summary>The parameters in model order.</summary>
    public IReadOnlyList<FlatSlot> Slots { get; }

    /// <summary>Elements per bucket.</summary>
    public IReadOnlyList<long> BucketSizes { get; }

    /// <summary>Total elements.</summary>
    public long TotalElements => BucketSizes.Sum();

    /// <summary>A zero-filled set of buckets in this layout.</summary>
    public Tensor[] Allocate(ScalarType dtype, Device device) =>
        BucketSizes.Select(n => zeros(n, dtype, device).DetachFromDisposeScope()).ToArray();

    /// <summary>The view of one slot inside <paramref name="buckets"/>, shaped like the parameter.</summary>
    public Tensor View(Tensor[] buckets, FlatSlot slot) => buckets[slot.Bucket].narrow(0, slot.Offset, slot.Numel).view(slot.Shape);
}

/// <summary>
/// fp32 gradient buckets for data parallelism: micro-batch gradients of a (possibly bf16) model are added into them,
/// then each bucket is all-reduced as one collective, so a 270M-parameter model costs a few NCCL calls per step.
/// </summary>
public sealed class GradientBuckets : IDisposable
{
    readonly Parameter[] _parameters;
    readonly Tensor[] _views;

    /// <summary>Buckets for <paramref name="parameters"/> (in model order) on <paramref name="device"/>.</summary>
    public GradientBuckets(IReadOnlyList<(string Name, Parameter Parameter)> parameters, Device device, long bucketElements = FlatLayout.DefaultBucketElements)
    {
        Layout = new FlatLayout(parameters.Select(p => (p.Name, p.Parameter.shape)), bucketElements);
        Buckets = Layout.Allocate(ScalarType.Float32, device);
        _parameters = parameters.Select(p => p.Parameter).ToArray();
        _views = Layout.Slots.Select(s => Layout.View(Buckets, s).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>The layout shared with master weights and optimizer state.</summary>
    public FlatLayout Layout { get; }

    /// <summary>The fp32 buckets.</summary>
    public Tensor[] Buckets { get; }

    /// <summary>The gradient of parameter <paramref name="index"/> (a view into its bucket).</summary>
    public Tensor this[int index] => _views[index];

    /// <summary>Adds the parameters' <c>.grad</c> into the buckets (upcast) and clears them for the next micro-batch.</summary>
    public void Accumulate()
    {
        using var _ = no_grad();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var g = _parameters[i].grad;
            if (g is null) continue;
            _views[i].add_(g);
            g.zero_();
        }
    }

    /// <summary>Sums every bucket over the ranks (a no-op at world size 1).</summary>
    public void AllReduce(ICollectives collectives)
    {
        if (collectives.WorldSize == 1) return;
        foreach (var b in Buckets) collectives.AllReduceSum(b);
    }

    /// <summary>Global L2 norm of the gradients, as a 0-d fp32 tensor on the buckets' device.</summary>
    public Tensor Norm()
    {
        using var scope = NewDisposeScope();
        var sq = Buckets.Select(b => b.square().sum()).ToArray();
        return stack(sq).sum().sqrt().MoveToOuterDisposeScope();
    }

    /// <summary>Zeroes the buckets.</summary>
    public void Zero()
    {
        foreach (var b in Buckets) b.zero_();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var v in _views) v.Dispose();
        foreach (var b in Buckets) b.Dispose();
    }
}
