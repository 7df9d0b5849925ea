using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FunctionGemma.Model;

/// <summary>Hyperparameters and switches of <see cref="SftTrainer"/>.</summary>
/// <param name="LearningRate">AdamW step size (the caller schedules it through <see cref="SftTrainer.LearningRate"/>).</param>
/// <param name="Beta1">AdamW first-moment decay.</param>
/// <param name="Beta2">AdamW second-moment decay.</param>
/// <param name="Epsilon">AdamW denominator epsilon.</param>
/// <param name="WeightDecay">Decoupled weight decay, applied to every weight except the norms.</param>
/// <param name="MaxGradNorm">Clip the global gradient norm to this (0 = no clipping).</param>
/// <param name="ActivationCheckpointing">Keep only each layer's input in the forward and recompute the layer in the backward.</param>
/// <param name="LossChunkTokens">Tokens per chunk of the LM-head cross-entropy.</param>
/// <param name="LossScaling">Dynamic loss scaling for fp16 parameters; null (bf16, fp32) = gradients are taken unscaled.</param>
/// <param name="CudaGraphs">
/// On CUDA (device 0), capture each micro-batch shape's forward, loss and backward once as a CUDA graph and replay it
/// for later micro-batches of that shape: thousands of kernel launches from .NET become one, which is what small
/// batches are bound by. A shape's first micro-batch runs eagerly (and is captured); all graphs share one memory pool.
/// Not with <paramref name="LossScaling"/> (its per-batch seed would be frozen into the graph). Elsewhere it has no effect.
/// </param>
/// <param name="ShardOptimizer">
/// With several data-parallel ranks, each rank runs AdamW on its 1/W slice of the weights only (ZeRO stage 1): the
/// gradients are reduce-scattered instead of all-reduced and the updated weights all-gathered, so the optimizer's time
/// per step shrinks with the number of GPUs instead of being paid in full on each. The update is the same formula
/// element by element; the gradient sums (reduce-scatter instead of all-reduce) and the norm may be added in another order.
/// </param>
public sealed record TrainingOptions(
    double LearningRate = 5e-5,
    double Beta1 = 0.9,
    double Beta2 = 0.999,
    double Epsilon = 1e-8,
    double WeightDecay = 0.0,
    double MaxGradNorm = 1.0,
    bool ActivationCheckpointing = false,
    int LossChunkTokens = 2048,
    LossScaling? LossScaling = null,
    bool CudaGraphs = false,
    bool ShardOptimizer = true);

/// <summary>
/// Dynamic loss scaling, as mixed-precision trainers do it for fp16 (whose smallest normal value, 6e-5, would flush
/// most gradients to zero): the backward of each micro-batch is seeded with <c>scale × (its mean token loss)</c>, the
/// fp16 gradients are unscaled into the fp32 gradient sum, and after the all-reduce a non-finite gradient skips the
/// optimizer step and halves the scale (never below 1); <paramref name="GrowthInterval"/> good steps in a row double it.
/// </summary>
/// <param name="InitialScale">Scale of the first step (≥ 1; 2^16 as PyTorch's GradScaler).</param>
/// <param name="GrowthInterval">Consecutive good steps after which the scale doubles (≥ 1).</param>
public sealed record LossScaling(double InitialScale = 65536, int GrowthInterval = 2000);

/// <summary>
/// One micro-batch: token ids <c>[B, T]</c> and labels <c>[B, T]</c> in Hugging Face's convention (labels equal the
/// ids where the token is a target, -100 elsewhere; the shift happens inside). Rows are right-padded: causal
/// attention keeps padding out of the real tokens, and padded positions carry label -100.
/// </summary>
public sealed record TrainingBatch(Tensor InputIds, Tensor Labels) : IDisposable
{
    /// <summary>Label value that excludes a position from the loss.</summary>
    public const long IgnoreIndex = -100;

    /// <inheritdoc/>
    public void Dispose()
    {
        InputIds.Dispose();
        Labels.Dispose();
    }
}

/// <summary>What one optimizer step saw.</summary>
/// <param name="Loss">Mean cross-entropy over the step's target tokens (all micro-batches, all ranks).</param>
/// <param name="TokenAccuracy">Fraction of target tokens that were the argmax.</param>
/// <param name="GradNorm">Global gradient norm before clipping.</param>
/// <param name="Tokens">Target tokens in the step.</param>
/// <param name="Skipped">
/// Loss scaling found an inf/nan gradient (after the all-reduce), so no update was made: masters, moments and
/// <see cref="SftTrainer.StepCount"/> are as before, and <paramref name="GradNorm"/> is the non-finite norm.
/// Loss, accuracy and tokens are those of the forward. Always false without <see cref="LossScaling"/>.
/// </param>
/// <param name="LossScale">The loss scale this step's backward was seeded with (1 without loss scaling).</param>
public readonly record struct StepResult(double Loss, double TokenAccuracy, double GradNorm, long Tokens, bool Skipped = false, double LossScale = 1);

/// <summary>
/// How <see cref="SftTrainer"/> combines data-parallel ranks (one process per device; every rank makes the same calls
/// in the same order). A single process needs none.
/// </summary>
public interface IDataParallel
{
    /// <summary>This process's rank, 0..<see cref="WorldSize"/>-1.</summary>
    int Rank { get; }

    /// <summary>Number of ranks.</summary>
    int WorldSize { get; }

    /// <summary>
    /// Sums, in place, <paramref name="stats"/> (<c>[lossSum, correct, tokens]</c>, fp64) over all ranks, and the flat
    /// fp32 gradient of the summed (not yet averaged) loss: all of it, or with <paramref name="scatter"/> only this rank's
    /// slice r of the buffer's W equal slices (the others are undefined after).
    /// </summary>
    void ReduceGradients(Tensor flatGradients, Tensor stats, bool scatter);

    /// <summary>Sums a small contiguous tensor over all ranks, in place.</summary>
    void AllReduceSum(Tensor tensor);

    /// <summary>In place: every rank's slice r of the buffer's W equal slices is copied to every rank.</summary>
    void AllGather(Tensor tensor);
}

/// <summary>
/// Supervised fine-tuning steps for <see cref="Gemma3ForCausalLM"/>.
/// <para>
/// Precision: the model's parameters are in its compute dtype (bf16 on GPU) and live as views of one flat buffer;
/// the optimizer keeps fp32 master weights and fp32 AdamW moments in flat buffers, and gradients are summed in fp32
/// across micro-batches. bf16 cannot represent an update of lr·1e-3 relative to a weight (its step is 2^-8), so pure
/// bf16 AdamW silently drops most small updates; fp32 masters keep them, at 12 extra bytes per parameter (3.2 GB for 270M).
/// Flat buffers make the optimizer, the clipping and the all-reduce a handful of kernels instead of a loop over 236 tensors.
/// </para>
/// <para>
/// fp16 parameters need <see cref="TrainingOptions.LossScaling"/>: its 5-bit exponent flushes small gradients to zero
/// unless the backward is scaled up, and overflow of a too-large scale is caught and skipped.
/// </para>
/// </summary>
public sealed class SftTrainer : IDisposable
{
    readonly Gemma3ForCausalLM model;
    readonly Parameter[] parameters;
    readonly string[] names;
    readonly long[] offsets;
    readonly long decayCount; // parameters [0, decayCount) of the flat buffer get weight decay
    readonly Tensor flatParams, flatGrads, gradSum, master, expAvg, expAvgSq;
    readonly IDataParallel? parallel;
    readonly long shardStart, shardLength; // the slice of the flat buffers this rank's optimizer updates (all of it unsharded)
    bool stateGathered = true;
    long goodSteps; // loss scaling: finite steps since the scale last changed
    readonly bool useGraphs, fusedAdamW;
    readonly Dictionary<(long B, long T), CapturedMicroBatch> graphs = new();

    /// <summary>Settings (the learning rate may be changed between steps through <see cref="LearningRate"/>).</summary>
    public TrainingOptions Options { get; }

    /// <summary>Learning rate of the next step; set it for a schedule.</summary>
    public double LearningRate { get; set; }

    /// <summary>Optimizer steps taken (steps skipped by loss scaling not counted).</summary>
    public long StepCount { get; private set; }

    /// <summary>The loss scale of the next step (1 without <see cref="TrainingOptions.LossScaling"/>).</summary>
    public double LossScale { get; private set; } = 1;

    /// <summary>Steps that loss scaling skipped because a gradient overflowed (0 without loss scaling).</summary>
    public long SkippedSteps { get; private set; }

    /// <summary>Whether micro-batches replay captured CUDA graphs (<see cref="TrainingOptions.CudaGraphs"/> on a device that allows it).</summary>
    public bool UsesCudaGraphs => useGraphs;

    /// <summary>The model being trained (parameters are views of the trainer's flat buffer).</summary>
    public Gemma3ForCausalLM Model => model;

    /// <summary>
    /// Takes ownership of the model's parameter storage: moves every parameter into one flat buffer and builds fp32
    /// master weights and AdamW state beside it. <paramref name="parallel"/> combines the ranks between the backward and the
    /// optimizer step of every <see cref="Step(IReadOnlyList{TrainingBatch})"/>.
    /// </summary>
    public SftTrainer(Gemma3ForCausalLM model, TrainingOptions? options = null, IDataParallel? parallel = null)
    {
        this.model = model;
        Options = options ?? new TrainingOptions();
        LearningRate = Options.LearningRate;
        this.parallel = parallel;
        if (Options.LossScaling is { } ls)
        {
            if (!(ls.InitialScale >= 1) || double.IsInfinity(ls.InitialScale) || ls.GrowthInterval < 1)
                throw new ArgumentOutOfRangeException(nameof(options), $"LossScaling {ls}: InitialScale must be finite and ≥ 1, GrowthInterval ≥ 1.");
            LossScale = ls.InitialScale;
            if (Options.CudaGraphs) throw new ArgumentException("TrainingOptions: CudaGraphs and LossScaling do not go together (the loss scale would be frozen into the captured graph); turn one off.", nameof(options));
        }
        useGraphs = Options.CudaGraphs && CudaGraphs.UsableOn(model.Device, out _);
        fusedAdamW = CudaKernels.Serve(model.Device, model.DType);
        // Decayed weights first, norms last, so weight decay is one narrow of the flat buffer.
        var named = model.named_parameters().ToList();
        var ordered = named.Where(p => !IsNorm(p.name)).Concat(named.Where(p => IsNorm(p.name))).ToList();
        parameters = ordered.Select(p => p.parameter).ToArray();
        names = ordered.Select(p => p.name).ToArray();
        offsets = new long[parameters.Length + 1];
        for (int i = 0; i < parameters.Length; i++) offsets[i + 1] = offsets[i] + parameters[i].NumberOfElements;
        decayCount = offsets[ordered.Count(p => !IsNorm(p.name))];
        // With the optimizer sharded, the flat buffers split into equal slices, one per rank (the tail is zero padding).
        int shards = Sharded ? parallel!.WorldSize : 1;
        long total = (offsets[^1] + shards - 1) / shards * shards;
        shardLength = total / shards;
        shardStart = Sharded ? parallel!.Rank * shardLength : 0;
        var dtype = model.DType;
        var device = model.Device;
        using (no_grad())
        {
            flatParams = zeros(total, dtype, device).DetachFromDisposeScope();
            flatGrads = zeros(total, dtype, device).DetachFromDisposeScope();
            for (int i = 0; i < parameters.Length; i++)
            {
                var p = parameters[i];
                var view = flatParams.narrow(0, offsets[i], p.NumberOfElements).view(p.shape);
                view.copy_(p);
                p.set_(view);
                p.grad = flatGrads.narrow(0, offsets[i], p.NumberOfElements).view(p.shape);
            }
            master = flatParams.to_type(ScalarType.Float32, copy: true).DetachFromDisposeScope();
            Gemma3ForCausalLM.WeightsChanged();
            gradSum = zeros(total, ScalarType.Float32, device).DetachFromDisposeScope();
            expAvg = zeros(total, ScalarType.Float32, device).DetachFromDisposeScope();
            expAvgSq = zeros(total, ScalarType.Float32, device).DetachFromDisposeScope();
        }
    }

    static bool IsNorm(string name) => name.EndsWith("norm.weight", StringComparison.Ordinal);

    /// <summary>The fp32 sum of gradients of the last <see cref="AccumulateGradients"/> calls (flat, in trainer order).</summary>
    public Tensor GradientBuffer => gradSum;

    /// <summary>Names of the parameters in flat-buffer order, with their offsets (for reading <see cref="GradientBuffer"/>).</summary>
    public IReadOnlyList<(string Name, long Offset, long[] Shape)> Layout =>
        names.Select((n, i) => (n, offsets[i], parameters[i].shape)).ToArray();

    /// <summary>
    /// Forward and backward of one micro-batch; adds the gradient of the summed loss into <see cref="GradientBuffer"/>
    /// (unscaled when loss scaling is on; it may then hold inf/nan, which <see cref="ApplyGradients"/> turns into a skipped step).
    /// </summary>
    public CrossEntropyResult AccumulateGradients(TrainingBatch batch)
    {
        using var scope = NewDisposeScope();
        var (loss, correct, n) = AccumulateOnDevice(batch);
        return new CrossEntropyResult(loss.item<double>(), correct.item<long>(), n);
    }

    (Tensor LossSum, Tensor Correct, long Tokens) AccumulateOnDevice(TrainingBatch batch)
    {
        if (useGraphs) return AccumulateReplayed(batch);
        using var scope = NewDisposeScope();
        var r = Accumulate(batch.InputIds.to(model.Device), batch.Labels.to(model.Device), maskedLoss: false, Options.ActivationCheckpointing);
        return (r.LossSum.MoveToOuterDisposeScope(), r.Correct.MoveToOuterDisposeScope(), r.Tokens);
    }

    /// <summary>
    /// The forward, loss and backward of one micro-batch on device tensors, adding into the gradient sum. With
    /// <paramref name="maskedLoss"/> every position goes through the LM head and ignored ones are masked out, so no
    /// step waits for the device to count targets (as selecting them would) and a captured graph fits any labels of
    /// the shape; the token count is then the caller's (returned as -1).
    /// </summary>
    (Tensor LossSum, Tensor Correct, long Tokens) Accumulate(Tensor ids, Tensor labels, bool maskedLoss, bool checkpointing)
    {
        using var scope = NewDisposeScope();
        var device = model.Device;
        long b = ids.shape[0], t = ids.shape[1], h = model.Config.HiddenSize;
        // Position i predicts label i+1.
        var targets = cat([labels.narrow(1, 1, t - 1), full([b, 1], TrainingBatch.IgnoreIndex, ScalarType.Int64, device)], 1).reshape(-1);
        var keep = targets.ne(TrainingBatch.IgnoreIndex);
        var idx = maskedLoss ? null : keep.nonzero().squeeze(1);
        var sel = idx is null ? targets.clamp_min(0) : targets.index_select(0, idx);
        var weight = model.Model.EmbedWeight;
        // Loss scaling seeds the backward with scale × the mean token loss of this micro-batch, as a mixed-precision
        // trainer does with a mean loss, so a scale means what it means elsewhere; unscaling multiplies by n / scale.
        long n = idx is null ? -1 : sel.shape[0];
        double seed = Options.LossScaling is null ? 1.0 : LossScale / Math.Max(1, n);

        (Tensor, Tensor, long) LossAndBackward(Tensor finalHidden)
        {
            // finalHidden: [B, T, H] with a graph; the LM head's backward is written out in ChunkedCrossEntropy.
            var flat = finalHidden.detach().reshape(b * t, h);
            if (idx is null)
            {
                var gradAll = empty_like(flat);
                var all = ChunkedCrossEntropy.ComputeOnDevice(flat, weight, sel, Options.LossChunkTokens, gradAll, seed, keep);
                finalHidden.backward([gradAll.view(b, t, h)]);
                return all;
            }
            var hs = flat.index_select(0, idx);
            var gradSel = empty_like(hs);
            var r = ChunkedCrossEntropy.ComputeOnDevice(hs, weight, sel, Options.LossChunkTokens, gradSel, seed);
            var gradFlat = zeros_like(flat).index_copy_(0, idx, gradSel);
            finalHidden.backward([gradFlat.view(b, t, h)]);
            return r;
        }

        (Tensor LossSum, Tensor Correct, long Tokens) result;
        if (!checkpointing)
        {
            result = LossAndBackward(model.HiddenStates(ids));
        }
        else
        {
            var positions = Gemma3ForCausalLM.DefaultPositions(ids);
            var (g, l) = model.AttentionInputsFor(positions);
            var layers = model.Model.Layers;
            var inputs = new Tensor[layers.Count + 1];
            using (no_grad())
            {
                inputs[0] = model.Embed(ids);
                for (int i = 0; i < layers.Count; i++) inputs[i + 1] = layers[i].Forward(inputs[i], layers[i].IsSliding ? l : g);
            }
            var top = inputs[^1].detach().requires_grad_(true);
            result = LossAndBackward(model.Model.Norm.call(top));
            var grad = top.grad!;
            for (int i = layers.Count - 1; i >= 0; i--)
            {
                using var layerScope = NewDisposeScope();
                var x = inputs[i].detach().requires_grad_(true);
                var y = layers[i].Forward(x, layers[i].IsSliding ? l : g);
                y.backward([grad]);
                grad = x.grad!.MoveToOuterDisposeScope();
                inputs[i + 1].Dispose();
            }
            model.Embed(ids).backward([grad]);
        }
        using (no_grad())
        {
            if (Options.LossScaling is null) gradSum.add_(flatGrads);
            else gradSum.add_(flatGrads, alpha: 1.0 / seed);
            flatGrads.zero_();
        }
        return (result.LossSum.MoveToOuterDisposeScope(), result.Correct.MoveToOuterDisposeScope(), n);
    }

    /// <summary>Static inputs and outputs of one shape's captured micro-batch, and its graph.</summary>
    sealed class CapturedMicroBatch(long b, long t, Device device) : IDisposable
    {
        public Tensor Ids { get; } = zeros([b, t], ScalarType.Int64, device).DetachFromDisposeScope();
        public Tensor Labels { get; } = zeros([b, t], ScalarType.Int64, device).DetachFromDisposeScope();
        public Tensor LossSum { get; } = zeros([], ScalarType.Float64, device).DetachFromDisposeScope();
        public Tensor Correct { get; } = zeros([], ScalarType.Int64, device).DetachFromDisposeScope();
        public CudaGraph? Graph { get; set; }

        public void Dispose()
        {
            Graph?.Dispose();
            foreach (var x in new[] { Ids, Labels, LossSum, Correct }) x.Dispose();
        }
    }

    (Tensor LossSum, Tensor Correct, long Tokens) AccumulateReplayed(TrainingBatch batch)
    {
        long b = batch.InputIds.shape[0], t = batch.InputIds.shape[1];
        // The token count comes from the labels on the host side (free when the batch is still in host memory).
        long tokens;
        using (var targets = batch.Labels.narrow(1, 1, t - 1).ne(TrainingBatch.IgnoreIndex)) tokens = targets.sum().item<long>();
        bool known = graphs.TryGetValue((b, t), out var c);
        c ??= new CapturedMicroBatch(b, t, model.Device);
        c.Ids.copy_(batch.InputIds);
        c.Labels.copy_(batch.Labels);
        if (known) c.Graph!.Replay();
        else Capture(c); // its eager run is this micro-batch's work
        return (c.LossSum.clone(), c.Correct.clone(), tokens);
    }

    /// <summary>
    /// Captures the graph for micro-batches of <paramref name="batch"/> rows × <paramref name="length"/> tokens now,
    /// so the first such micro-batch replays instead of running eagerly and capturing mid-training. Its warm-up runs on
    /// a batch without targets, which adds exact zeros to the gradient sum. Returns false when graphs are off or the
    /// shape is already captured.
    /// </summary>
    public bool PrepareCudaGraph(long batch, long length)
    {
        if (!useGraphs || graphs.ContainsKey((batch, length))) return false;
        var c = new CapturedMicroBatch(batch, length, model.Device);
        c.Labels.fill_(TrainingBatch.IgnoreIndex);
        Capture(c);
        return true;
    }

    void Capture(CapturedMicroBatch c)
    {
        void Body(bool checkpointing)
        {
            using var scope = NewDisposeScope();
            var r = Accumulate(c.Ids, c.Labels, maskedLoss: true, checkpointing);
            c.LossSum.copy_(r.LossSum);
            c.Correct.copy_(r.Correct);
        }

        // Run eagerly on the capture stream (the warm-up that keeps lazy setup out of the capture), then capture;
        // capturing runs nothing. The eager run recomputes layers (same gradients, same kernels): the memory it leaves
        // cached outside the graph's pool, which nothing can hand back, is then one layer's activations, not the stack's.
        // Fused weight concatenations are built inside, never kept: a kept one would freeze this step's weights into
        // every replay of a recomputing (checkpointed) forward.
        FusedWeight.Uncached = true;
        try
        {
            using (new CudaStreamScope())
            {
                Body(checkpointing: true);
                c.Graph = CudaGraph.Capture(() => Body(Options.ActivationCheckpointing), sharePoolWith: graphs.Values.FirstOrDefault()?.Graph);
            }
        }
        finally { FusedWeight.Uncached = false; }
        graphs[((long)c.Ids.shape[0], (long)c.Ids.shape[1])] = c;
    }

    /// <summary>
    /// One optimizer step over <paramref name="microBatches"/> (gradient accumulation): forward and backward of each,
    /// the all-reduce hook, averaging over target tokens, clipping, AdamW on the fp32 masters, and the copy back into
    /// the model's parameters.
    /// </summary>
    public StepResult Step(IReadOnlyList<TrainingBatch> microBatches)
    {
        using var scope = NewDisposeScope();
        var lossSum = zeros([], ScalarType.Float64, model.Device);
        var correct = zeros([], ScalarType.Int64, model.Device);
        long tokens = 0;
        foreach (var mb in microBatches)
        {
            var r = AccumulateOnDevice(mb);
            lossSum.add_(r.LossSum); correct.add_(r.Correct); tokens += r.Tokens;
        }
        // One wait for the device per step, after the whole backward is queued.
        return ApplyGradients(lossSum.item<double>(), correct.item<long>(), tokens);
    }

    /// <summary>Step on a single micro-batch.</summary>
    public StepResult Step(TrainingBatch batch) => Step([batch]);

    /// <summary>
    /// The second half of <see cref="Step(IReadOnlyList{TrainingBatch})"/>, for callers that drive <see cref="AccumulateGradients"/> themselves:
    /// all-reduce, average, clip, AdamW, copy back, and clear the gradient buffer. With loss scaling, a non-finite
    /// gradient norm after the all-reduce (the same on every rank) skips the update and halves the scale; see <see cref="StepResult.Skipped"/>.
    /// </summary>
    public StepResult ApplyGradients(double lossSum, long correct, long tokens)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        if (parallel is not null)
        {
            var stats = tensor(new[] { lossSum, correct, (double)tokens }, device: model.Device);
            parallel.ReduceGradients(gradSum, stats, scatter: Sharded);
            var s = stats.cpu().data<double>().ToArray();
            (lossSum, correct, tokens) = (s[0], (long)s[1], (long)s[2]);
        }
        if (tokens == 0)
        {
            gradSum.zero_();
            return new StepResult(0, 0, 0, 0);
        }
        // This rank's slice of every flat buffer: all of them unsharded.
        var grad = gradSum.narrow(0, shardStart, shardLength);
        var masterShard = master.narrow(0, shardStart, shardLength);
        var m1 = expAvg.narrow(0, shardStart, shardLength);
        var m2 = expAvgSq.narrow(0, shardStart, shardLength);
        // The global norm: of the whole sum, or from the ranks' squared slice norms. Averaging over tokens is folded
        // into the clip's multiply below: one pass over the buffer instead of two.
        Tensor norm;
        if (!Sharded) norm = grad.norm().div_(tokens);
        else
        {
            var sliceNorm = grad.norm();
            var squared = (sliceNorm * sliceNorm).reshape(1);
            parallel!.AllReduceSum(squared);
            norm = squared.sqrt_().div_(tokens).reshape([]);
        }
        double usedScale = LossScale;
        if (Options.LossScaling is { } scaling)
        {
            // Any inf/nan element makes the norm non-finite; one host sync per step, as GradScaler's found_inf.
            float normValue = norm.item<float>();
            if (!float.IsFinite(normValue))
            {
                LossScale = Math.Max(1, LossScale / 2);
                goodSteps = 0;
                SkippedSteps++;
                gradSum.zero_();
                return new StepResult(lossSum / tokens, (double)correct / tokens, normValue, tokens, Skipped: true, LossScale: usedScale);
            }
            if (++goodSteps >= scaling.GrowthInterval)
            {
                LossScale *= 2;
                goodSteps = 0;
            }
        }
        // No host sync: the clip coefficient (with the average over tokens) stays on the device.
        var coef = Options.MaxGradNorm > 0
            ? (Options.MaxGradNorm / (norm + 1e-6)).clamp_max(1.0).div_(tokens)
            : full([], 1.0 / tokens, ScalarType.Float32, grad.device);
        StepCount++;
        double lr = LearningRate, b1 = Options.Beta1, b2 = Options.Beta2;
        double bc1 = 1 - Math.Pow(b1, StepCount), bc2 = 1 - Math.Pow(b2, StepCount);
        long decayed = Math.Clamp(decayCount - shardStart, 0, shardLength);
        var paramShard = flatParams.narrow(0, shardStart, shardLength);
        if (fusedAdamW)
        {
            // One kernel: the clip, the decay, both moments, the update, the bf16 weights and the cleared gradient.
            CudaKernels.AdamW(masterShard, grad, m1, m2, paramShard, coef.to_type(ScalarType.Float32), decayed,
                Options.WeightDecay != 0 ? 1 - lr * Options.WeightDecay : 1.0, b1, b2, Options.Epsilon * Math.Sqrt(bc2), lr * Math.Sqrt(bc2) / bc1);
            return Finish();
        }
        grad.mul_(coef);
        if (Options.WeightDecay != 0 && decayed > 0) masterShard.narrow(0, 0, decayed).mul_(1 - lr * Options.WeightDecay);
        m1.lerp_(grad, full([], 1 - b1, ScalarType.Float32, grad.device));
        m2.mul_(b2).addcmul_(grad, grad, 1 - b2);
        // exp_avg / (sqrt(v) / sqrt(bc2) + eps) written as sqrt(bc2) * exp_avg / (sqrt(v) + eps * sqrt(bc2)): one pass fewer.
        var denom = m2.sqrt().add_(Options.Epsilon * Math.Sqrt(bc2));
        masterShard.addcdiv_(m1, denom, -lr * Math.Sqrt(bc2) / bc1);
        paramShard.copy_(masterShard);
        if (!Sharded) gradSum.zero_();
        return Finish();

        StepResult Finish()
        {
            // Sharded: each rank updated its slice; the compute-dtype weights are gathered so every rank has all of them,
            // and the other slices of the gradient sum (this rank's own, unreduced) are cleared.
            if (Sharded)
            {
                parallel!.AllGather(flatParams);
                stateGathered = false;
                gradSum.zero_();
            }
            Gemma3ForCausalLM.WeightsChanged();
            return new StepResult(lossSum / tokens, (double)correct / tokens, norm.item<float>(), tokens, LossScale: usedScale);
        }
    }

    /// <summary>Whether each rank keeps the optimizer for its slice of the weights only (<see cref="TrainingOptions.ShardOptimizer"/> with several ranks).</summary>
    public bool Sharded => parallel is { WorldSize: > 1 } && Options.ShardOptimizer;

    /// <summary>
    /// With a sharded optimizer, gathers every rank's slice of the fp32 masters and AdamW moments onto every rank, so
    /// any rank can <see cref="SaveState"/>. A collective: every rank calls it, before a checkpoint. Nothing to do unsharded.
    /// </summary>
    public void GatherState()
    {
        if (!Sharded || stateGathered) return;
        using (no_grad())
            foreach (var t in new[] { master, expAvg, expAvgSq }) parallel!.AllGather(t);
        stateGathered = true;
    }

    /// <summary>
    /// Writes the optimizer state (fp32 masters, moments, step count, learning rate, and with loss scaling the scale,
    /// its good-step count and the skipped steps) as safetensors.
    /// </summary>
    public void SaveState(string file)
    {
        var meta = new Dictionary<string, string>
        {
            ["step"] = StepCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["learning_rate"] = LearningRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            ["parameters"] = string.Join(",", names),
        };
        if (Options.LossScaling is not null)
        {
            meta["loss_scale"] = LossScale.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            meta["loss_scale_good_steps"] = goodSteps.ToString(System.Globalization.CultureInfo.InvariantCulture);
            meta["skipped_steps"] = SkippedSteps.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (!stateGathered) throw new InvalidOperationException("The optimizer is sharded: call GatherState on every rank before saving its state.");
        // The parameters' extent, without the padding that sharding adds (the file does not depend on the world size).
        long n = offsets[^1];
        Safetensors.Save(file, new Dictionary<string, Tensor>
        {
            ["master"] = master.narrow(0, 0, n), ["exp_avg"] = expAvg.narrow(0, 0, n), ["exp_avg_sq"] = expAvgSq.narrow(0, 0, n),
        }, meta);
    }

    /// <summary>
    /// Restores what <see cref="SaveState"/> wrote and sets the model's parameters from the masters, for an exact resume.
    /// A state without loss-scaling fields leaves this trainer's scaler at its initial scale.
    /// </summary>
    /// <exception cref="InvalidDataException">The state belongs to a model of another shape.</exception>
    public void LoadState(string file)
    {
        var (_, meta, _) = Safetensors.ReadHeader(file);
        if (!meta.TryGetValue("parameters", out var p) || p != string.Join(",", names))
            throw new InvalidDataException($"{file}: optimizer state was saved for other parameters; load it into a trainer of the same model.");
        var state = Safetensors.Load(file);
        using (no_grad())
        {
            foreach (var (key, target) in new[] { ("master", master), ("exp_avg", expAvg), ("exp_avg_sq", expAvgSq) })
            {
                if (state[key].NumberOfElements != offsets[^1]) throw new InvalidDataException($"{file}: '{key}' has {state[key].NumberOfElements} values, expected {offsets[^1]}.");
                target.narrow(0, 0, offsets[^1]).copy_(state[key]);
            }
            flatParams.copy_(master);
        }
        Gemma3ForCausalLM.WeightsChanged();
        foreach (var t in state.Values) t.Dispose();
        StepCount = long.Parse(meta["step"], System.Globalization.CultureInfo.InvariantCulture);
        LearningRate = double.Parse(meta["learning_rate"], System.Globalization.CultureInfo.InvariantCulture);
        if (Options.LossScaling is not null && meta.TryGetValue("loss_scale", out var scale))
        {
            LossScale = double.Parse(scale, System.Globalization.CultureInfo.InvariantCulture);
            goodSteps = long.Parse(meta["loss_scale_good_steps"], System.Globalization.CultureInfo.InvariantCulture);
            SkippedSteps = long.Parse(meta["skipped_steps"], System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var c in graphs.Values) c.Dispose();
        graphs.Clear();
        foreach (var t in new[] { gradSum, master, expAvg, expAvgSq }) t.Dispose();
    }
}

/// <summary>
/// The random state a resumed run needs. Gemma 3 has no dropout, so training itself draws no random numbers; what
/// remains is the torch CPU generator (initialization, any sampling) and the caller's data order.
/// </summary>
public static class RandomState
{
    /// <summary>The torch CPU generator's state.</summary>
    public static byte[] Capture()
    {
        using var s = torch.random.get_rng_state();
        return s.data<byte>().ToArray();
    }

    /// <summary>Restores a state from <see cref="Capture"/>.</summary>
    public static void Restore(byte[] state)
    {
        using var s = tensor(state, ScalarType.Byte);
        torch.random.set_rng_state(s);
    }

    /// <summary>Seeds torch's CPU and CUDA generators.</summary>
    public static void Seed(long seed)
    {
        torch.random.manual_seed(seed);
        if (cuda.is_available()) cuda.manual_seed_all(seed);
    }
}
