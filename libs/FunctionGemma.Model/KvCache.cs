using static TorchSharp.torch;

namespace FunctionGemma.Model;

/// <summary>
/// A preallocated key/value cache for batched decoding. Global layers keep every step; sliding layers keep a ring
/// of <c>sliding_window</c> steps, which is all a query can see. Rows are aligned by step (left padding), and a
/// per-slot validity flag hides padding.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] keys, values;
    readonly bool[] sliding;
    readonly Tensor validGlobal, validLocal; // [B, capacity] bool: slot holds a real token
    readonly long capGlobal, capLocal;

    /// <summary>Steps written so far (the same for every row).</summary>
    public long Length { get; private set; }

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
    }

    /// <summary>
    /// Marks the slots the next <paramref name="steps"/> steps will fill, with <paramref name="keyValid"/>
    /// (<c>[B, steps]</c>, false at padding; null = all real). Returns, for a one-step decode, the masks over the
    /// cache slots (<c>[B, 1, 1, capacity]</c>) of global and sliding layers; for a prefill, null (the caller masks the prompt).
    /// </summary>
    public (Tensor? Global, Tensor? Local) BeginStep(long steps, Tensor? keyValid)
    {
        if (Length + steps > MaxLength) throw new InvalidOperationException($"KV cache holds {MaxLength} steps; {Length} written, {steps} more asked.");
        if (steps > 1 && Length != 0) throw new InvalidOperationException("A multi-token step is only supported as the first (prefill) step.");
        using (no_grad())
        {
            if (steps == 1 && keyValid is null)
            {
                // Decode step: a generated token is always real; no host-to-device copy.
                validGlobal.narrow(1, Length, 1).fill_(true);
                validLocal.narrow(1, Length % capLocal, 1).fill_(true);
                pendingSteps = 1;
                return (validGlobal.view(Batch, 1, 1, capGlobal), validLocal.view(Batch, 1, 1, capLocal));
            }
            var kv = keyValid ?? ones([Batch, steps], ScalarType.Bool, validGlobal.device);
            validGlobal.narrow(1, Length, steps).copy_(kv);
            if (steps <= capLocal)
            {
                var idx = SlotIndices(Length, steps, capLocal, validLocal.device);
                validLocal.index_copy_(1, idx, kv);
            }
            else
            {
                var idx = SlotIndices(Length + steps - capLocal, capLocal, capLocal, validLocal.device);
                validLocal.index_copy_(1, idx, kv.narrow(1, steps - capLocal, capLocal));
            }
        }
        pendingSteps = steps;
        if (steps > 1) return (null, null);
        return (validGlobal.view(Batch, 1, 1, capGlobal), validLocal.view(Batch, 1, 1, capLocal));
    }

    long pendingSteps;

    /// <summary>Ends the step begun by <see cref="BeginStep"/>.</summary>
    public void EndStep()
    {
        Length += pendingSteps;
        pendingSteps = 0;
    }

    static Tensor SlotIndices(long start, long count, long cap, Device device)
    {
        var idx = new long[count];
        for (long s = 0; s < count; s++) idx[s] = (start + s) % cap;
        return tensor(idx, device: device);
    }

    /// <summary>
    /// Stores keys/values <c>[B, kvHeads, T, head_dim]</c> of layer <paramref name="layer"/> for the current step and
    /// returns what the layer attends over: the given tensors for a prefill, the whole cache for a one-step decode.
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        long t = k.shape[2];
        long cap = sliding[layer] ? capLocal : capGlobal;
        using (no_grad())
        {
            if (t == 1)
            {
                long slot = Length % cap;
                keys[layer].narrow(2, slot, 1).copy_(k);
                values[layer].narrow(2, slot, 1).copy_(v);
                return (keys[layer].alias(), values[layer].alias());
            }
            if (t <= cap)
            {
                keys[layer].narrow(2, Length, t).copy_(k);
                values[layer].narrow(2, Length, t).copy_(v);
            }
            else
            {
                using var idx = SlotIndices(Length + t - cap, cap, cap, k.device);
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
    }
}
