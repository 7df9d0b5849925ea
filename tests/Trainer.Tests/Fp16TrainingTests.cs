using FunctionGemma.Model;
using FunctionGemma.Model.Distributed;
using FunctionGemma.Protos;
using FunctionGemma.Trainer.Training;
using static TorchSharp.torch;

namespace FunctionGemma.Trainer.Tests;

/// <summary>precision "fp16": fp16 parameters with dynamic loss scaling, through the worker's training loop on CPU.</summary>
public sealed class Fp16TrainingTests
{
    sealed class Events(Action<TrainEvent>? onEvent = null) : ITrainEventSink
    {
        public List<TrainEvent> All { get; } = [];
        public Task PublishAsync(TrainEvent e, CancellationToken ct) { All.Add(e); onEvent?.Invoke(e); return Task.CompletedTask; }
    }

    static TrainSpec Spec() => new()
    {
        MaxSteps = 12, PerDeviceBatch = 2, GradAccumulation = 1, LearningRate = 3e-3, WarmupRatio = 0.2,
        LogEvery = 1, EvalEvery = 1000, CheckpointEvery = 6, Devices = "cpu", Precision = "fp16", Seed = 3,
    };

    static TokenizedExample[] Examples()
    {
        var rnd = new Random(4);
        return Enumerable.Range(0, 4).Select(_ => new TokenizedExample(Enumerable.Range(0, 10).Select(_ => rnd.Next(3, 64)).ToArray(), 1)).ToArray();
    }

    // A tiny fp32 model with a 64-token vocabulary, saved as an HF directory under work/base.
    static string SaveTinyModel(string work, int layers)
    {
        var modelDir = Path.Combine(work, "base");
        using var model = Gemma3ForCausalLM.Create(Gemma3Config.Tiny(layers: layers, vocabSize: 64), seed: 7);
        HfModelDirectory.Save(model, modelDir, ScalarType.Float32);
        return modelDir;
    }

    [Fact]
    public async Task Token_ids_beyond_the_models_vocabulary_stop_the_run_before_the_first_step_and_name_the_model()
    {
        var ct = TestContext.Current.CancellationToken;
        var work = Directory.CreateTempSubdirectory("fg-vocab-").FullName;
        try
        {
            var modelDir = SaveTinyModel(work, layers: 1);
            var rows = Examples().Append(new TokenizedExample([2, 5, 64, 9], 1)).ToArray();
            var events = new Events();
            var args = new WorkerArgs("vocab", 0, 1, "cpu", modelDir, Path.Combine(work, "runs"), Resume: false);
            var settings = TrainingSettings.From(new TrainSpec { MaxSteps = 2, Devices = "cpu", Precision = "fp32", CheckpointEvery = -1 });
            var ex = await Assert.ThrowsAsync<InvalidDataException>(() => new TrainingRun(args, settings, new SingleProcess(), rows, [], events, _ => { }).RunAsync(ct));
            Assert.Contains("token id 64", ex.Message);
            Assert.Contains(modelDir, ex.Message);
            Assert.DoesNotContain(events.All, e => e.Metrics is not null);
        }
        finally { Directory.Delete(work, true); }
    }

    [Fact]
    public void Fp16_is_an_accepted_precision()
    {
        Assert.Equal("fp16", TrainingSettings.From(new TrainSpec { Precision = "fp16" }).Precision);
        Assert.Contains("fp16", Assert.Throws<ArgumentException>(() => TrainingSettings.From(new TrainSpec { Precision = "fp8" })).Message);
    }

    [Fact]
    public async Task An_fp16_run_reports_its_loss_scale_learns_and_resumes_bitwise_with_the_scaler()
    {
        var ct = TestContext.Current.CancellationToken;
        var work = Directory.CreateTempSubdirectory("fg-fp16-").FullName;
        try
        {
            var modelDir = SaveTinyModel(work, layers: 2);
            var settings = TrainingSettings.From(Spec());
            var train = Examples();

            // One run straight through.
            var whole = new Events();
            var args = new WorkerArgs("whole", 0, 1, "cpu", modelDir, Path.Combine(work, "runs"), Resume: false);
            var wholeLast = await new TrainingRun(args, settings, new SingleProcess(), train, [], whole, _ => { }).RunAsync(ct);

            var metrics = whole.All.Where(e => e.Metrics is not null).Select(e => e.Metrics).ToList();
            Assert.Equal(12, metrics.Count);
            Assert.All(metrics, m => Assert.True(m.LossScale >= 1, $"step {m.Step}: loss scale {m.LossScale}"));
            Assert.True(metrics[^1].Loss < metrics[0].Loss * 0.9, $"{metrics[0].Loss} -> {metrics[^1].Loss}");
            // 2^16 overflows once on this model; the skipped step leaves the schedule where it was.
            int skip = metrics.FindIndex(m => m.SkippedSteps == 1);
            Assert.InRange(skip, 0, 10);
            Assert.Equal(metrics[skip].LossScale * 2, skip == 0 ? 65536 : metrics[skip - 1].LossScale);
            Assert.Equal(metrics[skip].LearningRate, metrics[skip + 1].LearningRate);
            Assert.Equal("F16", Safetensors.ReadHeader(Path.Combine(wholeLast!, "model.safetensors")).Entries[0].DType);

            // The same run stopped after its step-6 checkpoint, then resumed.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var first = new Events(e => { if (e.Checkpoint is { Step: 6 }) stop.Cancel(); });
            var resumedArgs = args with { RunId = "resumed" };
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new TrainingRun(resumedArgs, settings, new SingleProcess(), train, [], first, _ => { }).RunAsync(stop.Token));
            var second = new Events();
            var resumedLast = await new TrainingRun(resumedArgs with { Resume = true }, settings, new SingleProcess(), train, [], second, _ => { }).RunAsync(ct);

            var m12 = second.All.Where(e => e.Metrics is not null).Select(e => e.Metrics).ToList();
            Assert.Equal(metrics.Skip(6).Select(m => (m.Step, m.Loss, m.LossScale, m.SkippedSteps, m.LearningRate)),
                         m12.Select(m => (m.Step, m.Loss, m.LossScale, m.SkippedSteps, m.LearningRate)));
            Assert.Equal(File.ReadAllBytes(Path.Combine(wholeLast!, "model.safetensors")), File.ReadAllBytes(Path.Combine(resumedLast!, "model.safetensors")));
            Assert.Equal(File.ReadAllBytes(Path.Combine(wholeLast!, "optimizer.safetensors")), File.ReadAllBytes(Path.Combine(resumedLast!, "optimizer.safetensors")));
        }
        finally { Directory.Delete(work, true); }
    }
}
