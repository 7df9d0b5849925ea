using FunctionGemma.Model;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FunctionGemma.Model.Tests;

/// <summary>The NVRTC-compiled kernels against the eager formulas they replace; skipped where CUDA is absent (CI).</summary>
[Trait("Category", "Gpu")]
[Collection(GpuCollection.Name)]
public class GpuKernelTests
{
    static void RequireKernels()
    {
        if (!cuda.is_available()) Assert.Skip("CUDA is not available.");
        Assert.True(CudaKernels.Available, $"the kernels should compile and load here: {CudaKernels.Unavailable}");
    }

    [Fact]
    public void Fused_cross_entropy_matches_the_fp32_softmax_of_the_same_bf16_logits()
    {
        RequireKernels();
        var g = new Generator(11);
        var h = (randn([300, 64], generator: g) * 0.5).to_type(ScalarType.BFloat16).cuda();
        var w = randn([4096, 64], generator: g).to_type(ScalarType.BFloat16).cuda().requires_grad_(true);
        var y = randint(0, 4096, [300], ScalarType.Int64, generator: g).cuda();
        var mask = (randint(0, 4, [300], ScalarType.Int64, generator: g) > 0).cuda();
        var gradH = zeros_like(h);
        var (lossSum, correct, _) = ChunkedCrossEntropy.ComputeOnDevice(h, w, y, chunkTokens: 128, gradHidden: gradH, gradScale: 0.5, targetMask: mask);

        // Reference: HF's fp32 upcast of the same bf16 logits, masked rows dropped.
        using var _ = no_grad();
        var logits = F.linear(h, w.detach()).to_type(ScalarType.Float32);
        var logp = F.log_softmax(logits, 1);
        var picked = logp.gather(1, y.unsqueeze(1)).squeeze(1);
        double refLoss = -(picked * mask.to_type(ScalarType.Float32)).sum().item<float>();
        long refCorrect = (logits.gather(1, y.unsqueeze(1)).squeeze(1).ge(logits.max(1).values) & mask).sum().item<long>();
        var gRef = logp.exp().scatter_add(1, y.unsqueeze(1), full([300, 1], -1f, device: h.device)) * 0.5 * mask.unsqueeze(1).to_type(ScalarType.Float32);
        var gb = gRef.to_type(ScalarType.BFloat16);
        var gradHRef = gb.matmul(w.detach()).to_type(ScalarType.Float32);
        var gradWRef = gb.t().matmul(h).to_type(ScalarType.Float32);

        Assert.Equal(refLoss, lossSum.item<double>(), refLoss * 1e-5);
        Assert.Equal(refCorrect, correct.item<long>());
        double scaleH = gradHRef.abs().max().item<float>(), scaleW = gradWRef.abs().max().item<float>();
        Assert.True(TestModels.MaxAbsDiff(gradH.to_type(ScalarType.Float32).cpu(), gradHRef.cpu()) <= 2e-2 * scaleH);
        Assert.True(TestModels.MaxAbsDiff(w.grad!.to_type(ScalarType.Float32).cpu(), gradWRef.cpu()) <= 2e-2 * scaleW);
        // Masked rows carry no gradient at all.
        Assert.Equal(0f, gradH.index_select(0, mask.logical_not().nonzero().squeeze(1)).abs().max().to_type(ScalarType.Float32).item<float>());
    }

    [Fact]
    public void Fused_AdamW_matches_the_eager_formula_and_writes_the_bf16_weights()
    {
        RequireKernels();
        var g = new Generator(12);
        long n = 100_003;
        Tensor R(double scale) => (randn([n], generator: g) * scale).cuda();
        var master = R(0.02); var grad = R(1e-3); var m = R(1e-4); var v = R(1e-6).abs();
        var param = zeros([n], ScalarType.BFloat16, CUDA);
        var coef = full([], 0.25f, device: CUDA);
        double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1; long decayEnd = 60_000, step = 3;
        double bc1 = 1 - Math.Pow(b1, step), bc2 = 1 - Math.Pow(b2, step);

        // The eager formulas SftTrainer uses.
        var gr = grad * coef;
        var p = master.clone(); p.narrow(0, 0, decayEnd).mul_(1 - lr * wd);
        var mr = m.lerp(gr, full([], 1 - b1, device: CUDA));
        var vr = v * b2 + gr * gr * (1 - b2);
        p.addcdiv_(mr, vr.sqrt().add_(eps * Math.Sqrt(bc2)), -lr * Math.Sqrt(bc2) / bc1);

        CudaKernels.AdamW(master, grad, m, v, param, coef, decayEnd, 1 - lr * wd, b1, b2, eps * Math.Sqrt(bc2), lr * Math.Sqrt(bc2) / bc1);
        Assert.True(TestModels.MaxAbsDiff(master.cpu(), p.cpu()) <= 1e-7);
        Assert.True(TestModels.MaxAbsDiff(m.cpu(), mr.cpu()) <= 1e-9);
        Assert.True(TestModels.MaxAbsDiff(v.cpu(), vr.cpu()) <= 1e-12);
        Assert.Equal(master.to_type(ScalarType.BFloat16).cpu().to_type(ScalarType.Float32).data<float>().ToArray(), param.cpu().to_type(ScalarType.Float32).data<float>().ToArray());
        Assert.Equal(0f, grad.abs().max().item<float>());
    }
}
