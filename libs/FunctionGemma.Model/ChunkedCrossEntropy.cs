using static TorchSharp.torch;

namespace FunctionGemma.Model;

/// <summary>Summed cross-entropy over some target tokens, with how many were predicted right.</summary>
/// <param name="LossSum">Sum of per-token losses (nats).</param>
/// <param name="Correct">Targets that were the argmax.</param>
/// <param name="Tokens">Targets counted.</param>
public readonly record struct CrossEntropyResult(double LossSum, long Correct, long Tokens);

/// <summary>
/// Cross-entropy of the tied LM head over the 262k vocabulary, computed a chunk of tokens at a time so the
/// <c>[tokens, vocab]</c> fp32 logits never exist at once. The backward is written out (softmax minus one-hot)
/// rather than recorded, so a chunk's logits are freed as soon as its gradients are taken.
/// </summary>
public static class ChunkedCrossEntropy
{
    /// <summary>
    /// Loss of <paramref name="hidden"/> <c>[N, H]</c> (final-norm outputs) against <paramref name="targets"/> <c>[N]</c>
    /// through logits <c>hidden @ weight^T</c>. When <paramref name="gradHidden"/> is given (<c>[N, H]</c>, dtype of
    /// hidden) it receives d(loss * gradScale)/d(hidden), and <paramref name="weight"/>'s <c>.grad</c> accumulates
    /// d(loss * gradScale)/d(weight). Logits are formed in the dtype of <paramref name="hidden"/>, then upcast to fp32,
    /// as Hugging Face does.
    /// </summary>
    public static CrossEntropyResult Compute(Tensor hidden, Tensor weight, Tensor targets, int chunkTokens,
        Tensor? gradHidden = null, double gradScale = 1.0)
    {
        using var scope = NewDisposeScope();
        var (loss, correct, n) = ComputeOnDevice(hidden, weight, targets, chunkTokens, gradHidden, gradScale);
        return n == 0 ? new CrossEntropyResult(0, 0, 0) : new CrossEntropyResult(loss.item<double>(), correct.item<long>(), n);
    }

    /// <summary>
    /// <see cref="Compute"/> without waiting for the device: the loss sum (fp64) and the correct count (int64) stay
    /// device scalars, so the backward can be queued behind the forward.
    /// </summary>
    /// <remarks>
    /// With <paramref name="targetMask"/> (<c>[N]</c> bool) only the rows where it is true count: the others add
    /// nothing to the loss, the count or any gradient (their <paramref name="gradHidden"/> rows are zero), and their
    /// targets only need to be valid ids. The returned token count is then N.
    /// </remarks>
    public static (Tensor LossSum, Tensor Correct, long Tokens) ComputeOnDevice(Tensor hidden, Tensor weight, Tensor targets,
        int chunkTokens, Tensor? gradHidden = null, double gradScale = 1.0, Tensor? targetMask = null)
    {
        long n = hidden.shape[0];
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var w = weight.detach();
        var lossSum = zeros([], ScalarType.Float64, hidden.device);
        var correct = zeros([], ScalarType.Int64, hidden.device);
        Tensor? wGrad = null;
        if (gradHidden is not null)
        {
            if (weight.grad is null) weight.grad = zeros_like(weight);
            wGrad = weight.grad!;
        }
        bool fused = hidden.dtype == ScalarType.BFloat16 && w.dtype == ScalarType.BFloat16 && CudaKernels.Serve(hidden.device, hidden.dtype)
            && (wGrad is null || wGrad.dtype == ScalarType.BFloat16) && w.shape[0] % 8 == 0;
        for (long start = 0; start < n; start += chunkTokens)
        {
            using var chunkScope = NewDisposeScope();
            long len = Math.Min(chunkTokens, n - start);
            var h = hidden.narrow(0, start, len);
            var t = targets.narrow(0, start, len);
            var m = targetMask?.narrow(0, start, len);
            if (fused)
            {
                // Two passes over the bf16 logits (statistics, then the gradient written over them) instead of an fp32
                // softmax, its bf16 copy and a scatter; masked rows come out as zero gradient rows.
                var z = nn.functional.linear(h, w);
                var lse = empty([len], ScalarType.Float32, z.device);
                var rowLoss = empty([len], ScalarType.Float32, z.device);
                var rowRight = empty([len], ScalarType.Int32, z.device);
                CudaKernels.CrossEntropyRows(z, t.contiguous(), m?.contiguous(), lse, rowLoss, rowRight);
                lossSum.add_(rowLoss.sum(ScalarType.Float64));
                correct.add_(rowRight.sum(ScalarType.Int64));
                if (gradHidden is null) continue;
                CudaKernels.CrossEntropyGradient(z, t.contiguous(), m?.contiguous(), lse, (float)gradScale);
                gradHidden.narrow(0, start, len).copy_(z.matmul(w));
                wGrad!.addmm_(z.t(), h);
                continue;
            }
            // A target is right when its logit is the largest; read in the logits' dtype, half the bytes of fp32 p.
            var logits = nn.functional.linear(h, w);
            var right = logits.gather(1, t.unsqueeze(1)).squeeze(1).ge(logits.max(1).values);
            correct.add_((m is null ? right : right.logical_and(m)).sum());
            // Softmax reads the logits in their dtype and writes fp32 probabilities in one pass; the loss is -log p[target].
            var p = nn.functional.softmax(logits, 1, ScalarType.Float32);
            logits.Dispose();
            var logPicked = p.gather(1, t.unsqueeze(1)).squeeze(1).log();
            // where, not a product: a masked row's log p may be -inf, and -inf × 0 is nan.
            if (m is not null) logPicked = where(m, logPicked, zeros_like(logPicked));
            lossSum.add_(logPicked.sum().neg().to_type(ScalarType.Float64));
            if (gradHidden is null) continue;
            // d/dlogits of the summed loss = softmax - onehot. Masked rows are cut from the two small matmul operands,
            // not from the [len, vocab] gradient, which would cost another pass over it.
            p.scatter_add_(1, t.unsqueeze(1), full([len, 1], -1.0f, ScalarType.Float32, p.device));
            if (gradScale != 1.0) p.mul_(gradScale);
            var g = p.to_type(hidden.dtype);
            var keep = m?.unsqueeze(1).to_type(hidden.dtype);
            var gh = g.matmul(w);
            gradHidden.narrow(0, start, len).copy_(keep is null ? gh : gh.mul_(keep));
            var hk = keep is null ? h : h * keep;
            if (wGrad!.dtype == g.dtype) wGrad.addmm_(g.t(), hk);
            else wGrad.add_(g.t().matmul(hk).to_type(wGrad.dtype));
        }
        return (lossSum.MoveToOuterDisposeScope(), correct.MoveToOuterDisposeScope(), n);
    }
}
