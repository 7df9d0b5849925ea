using FunctionGemma.Model;
using static TorchSharp.torch;

namespace FunctionGemma.Model.Tests;

public class TrainingTests
{
    static TrainingBatch Batch(long b, long t, long seed, bool maskPrompt = true)
    {
        var ids = TestModels.RandomIds(b, t, 512, seed);
        var labels = ids.clone();
        if (maskPrompt) labels.narrow(1, 0, 3).fill_(TrainingBatch.IgnoreIndex); // completion-only: no loss on the prompt
        return new TrainingBatch(ids, labels);
    }

    [Fact]
    public void Chunked_cross_entropy_equals_plain_cross_entropy_in_value_and_gradients()
    {
        var g = new Generator(7);
        var h = randn([37, 16], generator: g).requires_grad_(true);
        var w = randn([300, 16], generator: g).requires_grad_(true);
        var y = randint(0, 300, [37], ScalarType.Int64, generator: g);
        var plain = nn.functional.cross_entropy(nn.functional.linear(h, w), y, reduction: nn.Reduction.Sum);
        plain.backward();

        var w2 = w.detach().clone().requires_grad_(true);
        var gradH = zeros([37, 16]);
        var r = ChunkedCrossEntropy.Compute(h.detach(), w2, y, chunkTokens: 8, gradHidden: gradH);
        Assert.Equal(plain.item<float>(), r.LossSum, 3);
        Assert.True(TestModels.MaxAbsDiff(h.grad!, gradH) < 1e-5);
        Assert.True(TestModels.MaxAbsDiff(w.grad!, w2.grad!) < 1e-5);
        var logits = nn.functional.linear(h, w).detach();
        Assert.Equal(logits.argmax(-1).eq(y).sum().item<long>(), r.Correct);
    }

    [Fact]
    public void Activation_checkpointing_gives_the_same_gradients()
    {
        using var plain = new SftTrainer(TestModels.Create(), new TrainingOptions());
        using var ckpt = new SftTrainer(TestModels.Create(), new TrainingOptions(ActivationCheckpointing: true));
        var a = plain.AccumulateGradients(Batch(2, 12, 1));
        var b = ckpt.AccumulateGradients(Batch(2, 12, 1));
        Assert.Equal(a.LossSum, b.LossSum, 6);
        Assert.True(plain.GradientBuffer.abs().sum().item<float>() > 0);
        Assert.True(TestModels.MaxAbsDiff(plain.GradientBuffer, ckpt.GradientBuffer) < 1e-6);
    }

    [Fact]
    public void Gradient_accumulation_over_micro_batches_equals_one_large_batch()
    {
        var all = Batch(4, 10, 2);
        using var one = new SftTrainer(TestModels.Create(), new TrainingOptions());
        using var two = new SftTrainer(TestModels.Create(), new TrainingOptions());
        var big = one.Step(all);
        var small = two.Step([new TrainingBatch(all.InputIds.narrow(0, 0, 2), all.Labels.narrow(0, 0, 2)),
                              new TrainingBatch(all.InputIds.narrow(0, 2, 2), all.Labels.narrow(0, 2, 2))]);
        Assert.Equal(big.Tokens, small.Tokens);
        Assert.Equal(big.Loss, small.Loss, 6);
        Assert.Equal(big.GradNorm, small.GradNorm, 5);
        var pa = one.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in two.Model.named_parameters())
            Assert.True(TestModels.MaxAbsDiff(pa[name], p) < 1e-6, name);
    }

    [Fact]
    public void AdamW_on_fp32_masters_matches_torch_AdamW()
    {
        var opts = new TrainingOptions(LearningRate: 1e-3, WeightDecay: 0.0, MaxGradNorm: 0);
        using var trainer = new SftTrainer(TestModels.Create(), opts);
        var reference = TestModels.Create();
        var adam = optim.AdamW(reference.parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0);
        for (int step = 0; step < 2; step++)
        {
            var batch = Batch(2, 9, 10 + step);
            trainer.Step(batch);
            adam.zero_grad();
            var logits = reference.call(batch.InputIds);
            var targets = cat([batch.Labels.narrow(1, 1, 8), full([2, 1], -100L)], 1);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, 512), targets.reshape(-1), ignore_index: -100);
            loss.backward();
            adam.step();
        }
        // Adam divides by sqrt(v): on near-zero gradients, float noise moves the update by a fraction of lr (1e-3).
        var pa = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in trainer.Model.named_parameters())
            Assert.True(TestModels.MaxAbsDiff(pa[name], p) < 1e-5, $"{name}: {TestModels.MaxAbsDiff(pa[name], p)}");
    }

    [Fact]
    public void Saved_optimizer_state_resumes_exactly()
    {
        var dir = TestModels.TempDir();
        using var a = new SftTrainer(TestModels.Create(), new TrainingOptions(LearningRate: 1e-3));
        a.Step(Batch(2, 8, 20));
        a.SaveState(Path.Combine(dir, "optimizer.safetensors"));
        HfModelDirectory.Save(a.Model, dir, ScalarType.Float32);
        var next = a.Step(Batch(2, 8, 21));

        using var b = new SftTrainer(HfModelDirectory.Load(dir), new TrainingOptions(LearningRate: 1e-3));
        b.LoadState(Path.Combine(dir, "optimizer.safetensors"));
        Assert.Equal(1, b.StepCount);
        var resumed = b.Step(Batch(2, 8, 21));
        Assert.Equal(next.Loss, resumed.Loss);
        var pa = a.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in b.Model.named_parameters()) Assert.Equal(0.0, TestModels.MaxAbsDiff(pa[name], p));
    }

    [Fact]
    public void Loss_falls_when_one_batch_is_repeated_and_accuracy_is_reported()
    {
        using var t = new SftTrainer(TestModels.Create(), new TrainingOptions(LearningRate: 3e-3));
        var batch = Batch(2, 12, 30);
        var first = t.Step(batch);
        StepResult last = first;
        for (int i = 0; i < 8; i++) last = t.Step(batch);
        Assert.True(last.Loss < first.Loss * 0.8, $"{first.Loss} -> {last.Loss}");
        Assert.InRange(last.TokenAccuracy, 0, 1);
        Assert.True(first.GradNorm > 0);
        Assert.Equal(2 * 9, first.Tokens); // labels 3..11 of each row are next-token targets
    }

    [Fact]
    public void All_reduce_hook_sees_flat_fp32_gradients_and_stats_between_backward_and_step()
    {
        Tensor? seen = null; double[]? stats = null;
        using var t = new SftTrainer(TestModels.Create(), new TrainingOptions(), (grads, s) =>
        {
            seen = grads.clone().DetachFromDisposeScope();
            stats = s.data<double>().ToArray();
            grads.mul_(2); s.mul_(2); // as if a second rank had the same batch
        });
        var r = t.Step(Batch(2, 8, 40));
        Assert.Equal(ScalarType.Float32, seen!.dtype);
        Assert.Equal(t.Model.parameters().Sum(p => p.NumberOfElements), seen.NumberOfElements);
        Assert.Equal(2 * 5, (long)stats![2]);
        Assert.Equal(2 * 2 * 5, r.Tokens);
    }

    [Fact]
    public void Length_buckets_respect_the_token_budget_and_pad_on_the_right()
    {
        var rnd = new Random(1);
        var examples = Enumerable.Range(0, 20).Select(i =>
        {
            var ids = Enumerable.Range(0, 3 + rnd.Next(30)).Select(_ => rnd.Next(3, 500)).ToArray();
            return new TrainingExample(ids, ids.ToArray());
        }).ToList();
        var batches = LengthBuckets.Batches(examples, maxTokensPerBatch: 64, padTokenId: 0, seed: 3);
        Assert.Equal(20, batches.Sum(b => b.InputIds.shape[0]));
        foreach (var b in batches)
        {
            Assert.True(b.InputIds.shape[0] * b.InputIds.shape[1] <= 64 || b.InputIds.shape[0] == 1);
            Assert.Equal(0, b.InputIds.shape[1] % 8);
            Assert.Equal(TrainingBatch.IgnoreIndex, b.Labels[0, -1].item<long>() == TrainingBatch.IgnoreIndex ? TrainingBatch.IgnoreIndex : b.Labels[0, -1].item<long>() == b.InputIds[0, -1].item<long>() ? TrainingBatch.IgnoreIndex : 0);
        }
    }
}
