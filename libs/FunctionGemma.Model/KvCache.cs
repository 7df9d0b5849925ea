using static TorchSharp.torch;

namespace FunctionGemma.Model;

/// <summary>
/// A preallocated key/value cache for batched decoding. Global layers keep every step; sliding layers keep a ring
/// of <c>sliding_window</c> steps, which is all a query can see. Rows are aligned by step (left padding), and a
/// per-slot validity flag hides padding.
/// </summary>
/// <remarks>
/// One prefill (<see cref="BeginPrefill"/>) is followed by one-token decode steps (<see cref="BeginDecodeStep"/>).
/// A decode step finds its slots through device-side counters, not host arguments, so the same kernels serve every
/// step and a captured <see cref="CudaGraph"/> of one step replays as the next. The caller sizes the cache and counts
/// the steps (the device counters have no host check): a decode step past <see cref="MaxLength"/> indexes past the
/// cache, which on a GPU is a device-side assertion that ends the process's CUDA context.
/// </remarks>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] keys, values;
    readonly bool[] sliding;
    readonly Tensor validGlobal, validLocal; // [B, capacity] bool: slot holds a real token
    readonly Tensor slotGlobal, slotLocal;   // [1] int64: the slot the next decode step writes
    readonly long capGlobal, capLocal;
    long prefilled = -1, pendingPrefill;
    bool decoding;

    /// <summary>Steps the cache can hold in total.</summary>
    public long MaxLength { get; }

    /// <summary>Rows.</summary>
    public long Batch { get; }

    /// <summary>Allocates a cache for <paramref name="batch"/> rows and up to <paramref name="maxLength"/> steps.</summary>
    public KvCache(Gemma3ForCausalLM model, long batch, long maxLength)
    {
        var c = model.Config;
        Batch = batch; MaxLength = maxLength;
        capGlobal = maxLength;
        capLocal = Math.Min(c.SlidingWindow, maxLength);
        keys = new Tensor[c.NumHiddenLayers];
        values = new Tensor[c.NumHiddenLayers];
        sliding = new bool[c.NumHiddenLayers];
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            sliding[i] = c.IsSliding(i);
            long cap = sliding[i] ? capLocal : capGlobal;
            keys[i] = zeros([batch, c.NumKeyValueHeads, cap, c.HeadDim], model.DType, model.Device).DetachFromDisposeScope();
            values[i] = zeros([batch, c.NumKeyValueHeads, cap, c.HeadDim], model.DType, model.Device).DetachFromDisposeScope();
        }
        validGlobal = zeros([batch, capGlobal], ScalarType.Bool, model.Device).DetachFromDisposeScope();
        validLocal = zeros([batch, capLocal], ScalarType.Bool, model.Device).DetachFromDisposeScope();
        slotGlobal = zeros([1], ScalarType.Int64, model.Device).DetachFromDisposeScope();
        slotLocal = zeros([1], ScalarType.Int64, model.Device).DetachFromDisposeScope();
    }

    /// <summary>
    /// Starts the prompt's forward pass over <paramref name="steps"/> steps, with <paramref name="keyValid"/>
    /// (<c>[B, steps]</c>, false at padding; null = all real). The caller masks the prompt itself; layers store their
    /// keys and values and attend over the prompt's own.
    /// </summary>
    public void BeginPrefill(long steps, Tensor? keyValid)
    {
        if (prefilled >= 0) throw new InvalidOperationException("The cache already holds a prompt; it takes one prefill.");
        if (steps < 1 || steps > MaxLength) throw new ArgumentOutOfRangeException(nameof(steps), $"A prefill of {steps} steps does not fit a cache of {MaxLength}.");
        using (no_grad())
        using (NewDisposeScope())
        {
            var kv = keyValid ?? ones([Batch, steps], ScalarType.Bool, validGlobal.device);
            validGlobal.narrow(1, 0, steps).copy_(kv);
            long kept = Math.Min(steps, capLocal);
            validLocal.index_copy_(1, SlotIndices(steps - kept, kept, capLocal, validLocal.device), kv.narrow(1, steps - kept, kept));
        }
        pendingPrefill = steps;
    }

    /// <summary>
    /// Starts a one-token step: marks the next slot of every row real and returns the masks over the cache slots
    /// (<c>[B, 1, 1, capacity]</c>, true where the query may attend) of global and sliding layers. Device work only.
    /// </summary>
    public (Tensor Global, Tensor Local) BeginDecodeStep()
    {
        if (prefilled < 0) throw new InvalidOperationException("Decode steps follow a prefill.");
        using (no_grad())
        {
            validGlobal.index_fill_(1, slotGlobal, true);
            validLocal.index_fill_(1, slotLocal, true);
        }
        decoding = true;
        return (validGlobal.view(Batch, 1, 1, capGlobal), validLocal.view(Batch, 1, 1, capLocal));
    }

    /// <summary>Ends the prefill or decode step begun last, moving the slot counters on.</summary>
    public void EndStep()
    {
        using (no_grad())
        {
            if (decoding)
            {
                slotGlobal.add_(1);
                slotLocal.add_(1).remainder_(capLocal);
                decoding = false;
                return;
            }
            prefilled = pendingPrefill;
            slotGlobal.fill_(prefilled);
            slotLocal.fill_(prefilled % capLocal);
        }
    }

    static Tensor SlotIndices(long start, long count, long cap, Device device)
    {
        var idx = new long[count];
        for (long s = 0; s < count; s++) idx[s] = (start + s) % cap;
        return tensor(idx, device: device);
    }

    /// <summary>
    /// Stores keys/values <c>[B, kvHeads, T, head_dim]</c> of layer <paramref name="layer"/> for the current step and
    /// returns what the layer attends over: the given tensors in the prefill, the whole cache in a decode step.
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        long t = k.shape[2];
        long cap = sliding[layer] ? capLocal : capGlobal;
        using (no_grad())
        {
            if (decoding)
            {
                var slot = sliding[layer] ? slotLocal : slotGlobal;
                keys[layer].index_copy_(2, slot, k);
                values[layer].index_copy_(2, slot, v);
                return (keys[layer].alias(), values[layer].alias());
            }
            if (t <= cap)
            {
                keys[layer].narrow(2, 0, t).copy_(k);
                values[layer].narrow(2, 0, t).copy_(v);
            }
            else
            {
                using var idx = SlotIndices(t - cap, cap, cap, k.device);
                keys[layer].index_copy_(2, idx, k.narrow(2, t - cap, cap));
                values[layer].index_copy_(2, idx, v.narrow(2, t - cap, cap));
            }
        }
        return (k, v);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var t in keys) t.Dispose();
        foreach (var t in values) t.Dispose();
        validGlobal.Dispose();
        validLocal.Dispose();
        slotGlobal.Dispose();
        slotLocal.Dispose();
    }
}
