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
    public void Masked_cross_entropy_over_all_rows_equals_the_selected_rows()
    {
        var g = new Generator(8);
        var h = randn([37, 16], generator: g);
        var w = randn([300, 16], generator: g);
        var y = randint(0, 300, [37], ScalarType.Int64, generator: g);
        var mask = randint(0, 2, [37], ScalarType.Int64, generator: g).to_type(ScalarType.Bool);
        var idx = mask.nonzero().squeeze(1);

        var wSel = w.clone().requires_grad_(true);
        var gradSel = zeros([idx.shape[0], 16]);
        var sel = ChunkedCrossEntropy.Compute(h.index_select(0, idx), wSel, y.index_select(0, idx), chunkTokens: 8, gradHidden: gradSel);

        var wAll = w.clone().requires_grad_(true);
        var gradAll = full([37, 16], float.NaN);
        var masked = ChunkedCrossEntropy.ComputeOnDevice(h, wAll, y, chunkTokens: 8, gradHidden: gradAll, targetMask: mask);

        Assert.Equal(sel.LossSum, masked.LossSum.item<double>(), 4);
        Assert.Equal(sel.Correct, masked.Correct.item<long>());
        Assert.True(TestModels.MaxAbsDiff(gradAll.index_select(0, idx), gradSel) < 1e-5);
        Assert.Equal(0f, gradAll.index_select(0, mask.logical_not().nonzero().squeeze(1)).abs().max().item<float>());
        Assert.True(TestModels.MaxAbsDiff(wAll.grad!, wSel.grad!) < 1e-4);
    }

    [Fact]
    public void Cuda_graphs_are_refused_with_loss_scaling_and_unused_off_the_gpu()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SftTrainer(TestModels.Create(), new TrainingOptions(CudaGraphs: true, LossScaling: new LossScaling())));
        Assert.Contains("CudaGraphs and LossScaling", ex.Message);
        using var cpu = new SftTrainer(TestModels.Create(), new TrainingOptions(CudaGraphs: true));
        Assert.False(cpu.UsesCudaGraphs);
        Assert.False(cpu.PrepareCudaGraph(2, 8));
        Assert.True(cpu.Step(Batch(2, 8, 3)).Tokens > 0);
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

    /// <summary>A second rank that had the same batch: doubles what it is given, and records it.</summary>
    sealed class MirroredRank : IDataParallel
    {
        public Tensor? Seen; public double[]? Stats; public bool Scattered;
        public int Rank => 0;
        public int WorldSize => 2;
        public void ReduceGradients(Tensor flatGradients, Tensor stats, bool scatter)
        {
            Seen = flatGradients.clone().DetachFromDisposeScope();
            Stats = stats.data<double>().ToArray();
            Scattered = scatter;
            flatGradients.mul_(2); stats.mul_(2);
        }
        public void AllReduceSum(Tensor tensor) => tensor.mul_(2);
        public void AllGather(Tensor tensor) { }
    }

    [Fact]
    public void The_reducer_sees_flat_fp32_gradients_and_stats_between_backward_and_step()
    {
        var rank = new MirroredRank();
        using var t = new SftTrainer(TestModels.Create(), new TrainingOptions(ShardOptimizer: false), rank);
        var r = t.Step(Batch(2, 8, 40));
        Assert.False(rank.Scattered);
        Assert.Equal(ScalarType.Float32, rank.Seen!.dtype);
        Assert.Equal(t.Model.parameters().Sum(p => p.NumberOfElements), rank.Seen.NumberOfElements);
        Assert.Equal(2 * 5, (long)rank.Stats![2]);
        Assert.Equal(2 * 2 * 5, r.Tokens);
    }

    static (StepResult[] Results, Tensor Weights, Dictionary<string, Tensor> State) TrainRank(IDataParallel? parallel, IReadOnlyList<TrainingBatch>[] steps, TrainingOptions options, string stateFile)
    {
        var model = TestModels.Create();
        using var trainer = new SftTrainer(model, options, parallel);
        var results = steps.Select(s => trainer.Step(s)).ToArray();
        trainer.GatherState();
        trainer.SaveState(stateFile);
        var weights = cat(model.parameters().Select(p => p.detach().flatten()).ToArray()).clone();
        return (results, weights, Safetensors.Load(stateFile));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void A_sharded_optimizer_over_two_ranks_trains_like_one_process_with_both_batches(double maxGradNorm)
    {
        var options = new TrainingOptions(LearningRate: 3e-3, WeightDecay: 0.1, MaxGradNorm: maxGradNorm);
        var batches = Enumerable.Range(0, 3).Select(i => new[] { Batch(2, 8, 300 + i), Batch(3, 6, 400 + i) }).ToArray();
        var dir = TestModels.TempDir();
        var single = TrainRank(null, batches.Select(b => (IReadOnlyList<TrainingBatch>)b).ToArray(), options, Path.Combine(dir, "single.safetensors"));

        var comms = InProcessCollectives.Create(2);
        var ranks = new (StepResult[] Results, Tensor Weights, Dictionary<string, Tensor> State)[2];
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            var parallel = Distributed.BucketedAllReduce.For(comms[r])!;
            ranks[r] = TrainRank(parallel, batches.Select(b => (IReadOnlyList<TrainingBatch>)[b[r]]).ToArray(), options, Path.Combine(dir, $"rank{r}.safetensors"));
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();

        // Both ranks end with the same weights and, gathered, the same optimizer state.
        Assert.Equal(ranks[0].Weights.data<float>().ToArray(), ranks[1].Weights.data<float>().ToArray());
        foreach (var key in new[] { "master", "exp_avg", "exp_avg_sq" })
            Assert.Equal(ranks[0].State[key].data<float>().ToArray(), ranks[1].State[key].data<float>().ToArray());
        for (int i = 0; i < batches.Length; i++)
        {
            Assert.Equal(single.Results[i].Tokens, ranks[0].Results[i].Tokens);
            Assert.Equal(single.Results[i].Loss, ranks[0].Results[i].Loss, 9);
            Assert.Equal(single.Results[i].GradNorm, ranks[0].Results[i].GradNorm, 4);
        }
        if (maxGradNorm == 0)
        {
            // Without clipping the update is the same element by element: bit for bit.
            Assert.Equal(single.Weights.data<float>().ToArray(), ranks[0].Weights.data<float>().ToArray());
            Assert.Equal(single.State["exp_avg_sq"].data<float>().ToArray(), ranks[0].State["exp_avg_sq"].data<float>().ToArray());
        }
        // With clipping the norm (summed in another order) rounds differently, and AdamW magnifies that for gradients
        // near its epsilon: 1e-5 is 0.1% of what these three steps move a weight (3 × lr).
        else Assert.True(TestModels.MaxAbsDiff(single.Weights, ranks[0].Weights) < 1e-5, $"max weight difference {TestModels.MaxAbsDiff(single.Weights, ranks[0].Weights)}");
    }

    [Fact]
    public void A_sharded_trainer_refuses_to_save_state_it_has_not_gathered()
    {
        var comms = InProcessCollectives.Create(2);
        var errors = new Exception?[2];
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            using var trainer = new SftTrainer(TestModels.Create(), new TrainingOptions(), Distributed.BucketedAllReduce.For(comms[r]));
            Assert.True(trainer.Sharded);
            trainer.Step(Batch(2, 8, 500 + r));
            errors[r] = Record.Exception(() => trainer.SaveState(Path.Combine(TestModels.TempDir(), "state.safetensors")));
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        Assert.All(errors, e => Assert.Contains("GatherState", Assert.IsType<InvalidOperationException>(e).Message));
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

/// <summary>Training steps replayed from captured CUDA graphs on the GPU machine; skipped where CUDA is absent (CI).</summary>
[Trait("Category", "Gpu")]
[Collection(GpuCollection.Name)]
public class GpuGraphTrainingTests
{
    static TrainingBatch Batch(long b, long t, long seed, int prompt)
    {
        var ids = TestModels.RandomIds(b, t, 512, seed);
        var labels = ids.clone();
        labels.narrow(1, 0, prompt).fill_(TrainingBatch.IgnoreIndex);
        labels[0, t - 1] = TrainingBatch.IgnoreIndex; // right padding of one row
        return new TrainingBatch(ids, labels);
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-4, false)]
    [InlineData(ScalarType.BFloat16, 2e-2, false)] // bf16 runs the fused cross-entropy and AdamW kernels, in and out of graphs
    [InlineData(ScalarType.Float32, 1e-4, true)]   // a recomputing forward must read this step's weights on every replay
    public void Replayed_micro_batches_train_like_eager_ones_across_shapes_and_label_masks(ScalarType dtype, double tolerance, bool checkpointing)
    {
        if (!cuda.is_available()) Assert.Skip("CUDA is not available.");
        Assert.True(CudaGraphs.Available, $"CUDA graphs should bind on this libtorch: {CudaGraphs.Unavailable}");
        // Two shapes, each seen several times with different targets masked; grad accumulation over both.
        var steps = Enumerable.Range(0, 6).Select(i => (IReadOnlyList<TrainingBatch>)
            [Batch(2, 12, 100 + i, prompt: 1 + i % 4), Batch(3, 7, 200 + i, prompt: 2 + i % 3)]).ToList();
        var results = new List<double[]>();
        var finals = new List<Tensor>();
        foreach (bool graphs in new[] { false, true })
        {
            var model = Gemma3ForCausalLM.Create(TestModels.Tiny(layers: 2), seed: 5, device: CUDA, dtype: dtype);
            using var trainer = new SftTrainer(model, new TrainingOptions(LearningRate: 1e-3, CudaGraphs: graphs, ActivationCheckpointing: checkpointing));
            Assert.Equal(graphs, trainer.UsesCudaGraphs);
            // One shape captured ahead (its warm-up has no targets, so it must leave the gradients alone), one on first use.
            Assert.Equal(graphs, trainer.PrepareCudaGraph(2, 12));
            Assert.False(trainer.PrepareCudaGraph(2, 12));
            results.Add(steps.Select(s => trainer.Step(s)).SelectMany(r => new[] { r.Loss, r.TokenAccuracy, r.GradNorm, r.Tokens }).ToArray());
            finals.Add(model.Model.EmbedWeight.detach().cpu().to_type(ScalarType.Float32).clone());
        }
        for (int i = 0; i < results[0].Length; i++)
            Assert.True(Math.Abs(results[0][i] - results[1][i]) <= tolerance * Math.Max(1, Math.Abs(results[0][i])), $"value {i}: eager {results[0][i]}, graphs {results[1][i]}");
        Assert.True(TestModels.MaxAbsDiff(finals[0], finals[1]) < tolerance);
    }
}
