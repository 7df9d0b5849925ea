using FunctionGemma.Core.Tokenizer;
using FunctionGemma.Model;
using FunctionGemma.Protos;
using FunctionGemma.Trainer.Training;
using Google.Protobuf;
using TorchSharp;
using static TorchSharp.torch;

namespace FunctionGemma.Trainer.Tests;

/// <summary>CUDA graphs in the worker: the spec switch, and the micro-batch padding that lets captured graphs replay.</summary>
public sealed class MicroBatchPaddingTests
{
    static readonly Gemma3Config Config270M = Gemma3Config.FunctionGemma270M();
    static readonly Device Cuda = new(DeviceType.CUDA, 0);

    static TrainingSettings Settings(int maxLength = 512, bool? cudaGraphs = null)
    {
        var spec = new TrainSpec { MaxLength = maxLength };
        if (cudaGraphs is { } on) spec.CudaGraphs = on;
        return TrainingSettings.From(spec);
    }

    [Fact]
    public void Cuda_graphs_are_on_unless_the_spec_turns_them_off()
    {
        Assert.True(Settings().CudaGraphs);
        Assert.True(Settings(cudaGraphs: true).CudaGraphs);
        Assert.False(Settings(cudaGraphs: false).CudaGraphs);
        // `Trainer train --spec spec.json` reads the proto's JSON form.
        Assert.False(TrainingSettings.From(JsonParser.Default.Parse<TrainSpec>("""{"cudaGraphs": false}""")).CudaGraphs);
        Assert.True(TrainingSettings.From(JsonParser.Default.Parse<TrainSpec>("{}")).CudaGraphs);
    }

    [Fact]
    public void Cuda_graphs_stay_off_on_the_cpu_with_fp16_and_when_the_spec_says_so_and_say_why()
    {
        Assert.Equal((false, "cpu"), TrainingRun.CudaGraphsFor(Settings(), CPU, ScalarType.Float32));
        Assert.Equal((false, "fp16 loss scaling"), TrainingRun.CudaGraphsFor(Settings(), Cuda, ScalarType.Float16));
        Assert.Equal((false, "cuda_graphs: false in the spec"), TrainingRun.CudaGraphsFor(Settings(cudaGraphs: false), Cuda, ScalarType.BFloat16));
    }

    [Theory]
    [InlineData(132, 160)]
    [InlineData(160, 160)]
    [InlineData(161, 192)]
    [InlineData(481, 512)]
    [InlineData(512, 512)]
    [InlineData(5, 32)]
    public void With_cuda_graphs_micro_batch_lengths_round_up_to_a_multiple_of_32(int longest, int padded) =>
        Assert.Equal(padded, TrainingRun.CostFor(Config270M, Settings(), Cuda, cudaGraphs: true).PaddedLength(longest));

    [Fact]
    public void Rows_of_132_to_512_tokens_make_a_dozen_shapes_with_cuda_graphs()
    {
        var cost = TrainingRun.CostFor(Config270M, Settings(), Cuda, cudaGraphs: true);
        var shapes = Enumerable.Range(132, 512 - 132 + 1).Select(cost.PaddedLength).Distinct().Order().ToArray();
        Assert.Equal(12, shapes.Length);
        Assert.Equal(160, shapes[0]);
        Assert.Equal(512, shapes[^1]);
    }

    [Fact]
    public void Padding_stops_at_max_length()
    {
        var cost = TrainingRun.CostFor(Config270M, Settings(maxLength: 500), Cuda, cudaGraphs: true);
        Assert.Equal(500, cost.PaddedLength(481));
        Assert.Equal(500, cost.PaddedLength(500));
        Assert.Equal(480, cost.PaddedLength(470));
    }

    [Fact]
    public void Without_cuda_graphs_the_padding_is_as_before()
    {
        // CPU: the longest row, so CPU runs (and their bitwise resume) are unchanged; eager GPUs: multiples of 64.
        var cpu = TrainingRun.CostFor(Config270M, Settings(), CPU, cudaGraphs: false);
        Assert.All(new[] { 9, 132, 161, 511 }, n => Assert.Equal(n, cpu.PaddedLength(n)));
        var eager = TrainingRun.CostFor(Config270M, Settings(), Cuda, cudaGraphs: false);
        Assert.Equal((192, 192, 512), (eager.PaddedLength(132), eager.PaddedLength(161), eager.PaddedLength(481)));
    }

    [Fact]
    public void With_cuda_graphs_the_cost_counts_the_lm_head_on_padding_too()
    {
        // A graph masks the loss instead of selecting targets, so a micro-batch without targets still pays for the head.
        int[] rows = [0];
        var data = new[] { new TokenizedExample(new int[100], TargetStart: 100) };
        var graphs = TrainingRun.CostFor(Config270M, Settings(), Cuda, cudaGraphs: true);
        var eager = TrainingRun.CostFor(Config270M, Settings(), Cuda, cudaGraphs: false);
        double head = 6.0 * Config270M.VocabSize * Config270M.HiddenSize;
        Assert.Equal(graphs.Of(data, rows), 128 * (eager.PerPaddedToken + head + eager.PerPaddedTokenSquared * 128), 1e-6 * graphs.Of(data, rows));
    }

    [Fact]
    public void Added_columns_carry_the_pad_id_and_no_label()
    {
        var data = new[] { new TokenizedExample([7, 8, 9, 10, 11], TargetStart: 2), new TokenizedExample([20, 21, 22], TargetStart: 0) };
        using var batch = TrainingRun.Batch(data, [0, 1], 8, CPU);
        Assert.Equal([2L, 8], batch.InputIds.shape);
        long P = FunctionGemmaTokens.Pad, X = TrainingBatch.IgnoreIndex;
        Assert.Equal([7L, 8, 9, 10, 11, P, P, P, 20, 21, 22, P, P, P, P, P], batch.InputIds.data<long>().ToArray());
        // Targets from TargetStart on (never the first token: nothing predicts it); nothing on the padding.
        Assert.Equal([X, X, 9L, 10, 11, X, X, X, X, 21, 22, X, X, X, X, X], batch.Labels.data<long>().ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => TrainingRun.Batch(data, [0, 1], 4, CPU));
    }

    [Fact]
    public void A_step_on_a_bucket_padded_micro_batch_matches_the_unpadded_one()
    {
        const double Lr = 1e-3;
        var rnd = new Random(5);
        var data = new[] { 13, 9, 11 }.Select(n => new TokenizedExample(Enumerable.Range(0, n).Select(_ => rnd.Next(3, 64)).ToArray(), 1)).ToArray();
        int[][] micro = [[0, 1], [2]];
        StepResult Train(bool graphsPadding, out float[] weights)
        {
            var cost = TrainingRun.CostFor(Gemma3Config.Tiny(layers: 2, vocabSize: 64), Settings(maxLength: 64), CPU, graphsPadding);
            using var model = Gemma3ForCausalLM.Create(Gemma3Config.Tiny(layers: 2, vocabSize: 64), seed: 7);
            using var trainer = new SftTrainer(model, new TrainingOptions(LearningRate: Lr, LossChunkTokens: 16));
            var batches = micro.Select(m => TrainingRun.Batch(data, m, cost.PaddedLength(data, m), CPU)).ToList();
            Assert.Equal(graphsPadding ? 32 : 13, batches[0].InputIds.shape[1]);
            var r = trainer.Step(batches);
            foreach (var b in batches) b.Dispose();
            weights = model.parameters().SelectMany(p => p.detach().to(ScalarType.Float32).data<float>().ToArray()).ToArray();
            return r;
        }
        var unpadded = Train(false, out var w0);
        var padded = Train(true, out var w1);
        Assert.Equal(unpadded.Tokens, padded.Tokens);
        Assert.Equal(unpadded.Loss, padded.Loss, 1e-6 * unpadded.Loss);
        Assert.Equal(unpadded.GradNorm, padded.GradNorm, 1e-5 * unpadded.GradNorm);
        // AdamW's first step moves each weight by about lr·sign(g), so a gradient near zero turns rounding into a small
        // fraction of lr (seen: 0.5%); padding that leaked into the loss would move weights by up to lr.
        Assert.True(w0.Zip(w1).Max(p => Math.Abs(p.First - p.Second)) < 0.02 * Lr, "weights after the step differ beyond rounding");
    }
}
