using FunctionGemma.Model;
using static TorchSharp.torch;

namespace FunctionGemma.Model.Tests;

/// <summary>fp16 training with dynamic loss scaling (<see cref="LossScaling"/>), on CPU with fp16 parameters.</summary>
public class LossScalingTests
{
    static TrainingBatch Batch(long seed)
    {
        var ids = TestModels.RandomIds(2, 12, 512, seed);
        var labels = ids.clone();
        labels.narrow(1, 0, 3).fill_(TrainingBatch.IgnoreIndex);
        return new TrainingBatch(ids, labels);
    }

    static SftTrainer Fp16Trainer(LossScaling scaling, double lr = 1e-3) =>
        new(TestModels.Create(dtype: ScalarType.Float16), new TrainingOptions(LearningRate: lr, LossScaling: scaling));

    static Dictionary<string, Tensor> Snapshot(SftTrainer t) =>
        t.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    [Fact]
    public void Fp16_with_loss_scaling_lowers_the_loss_on_a_repeated_batch()
    {
        using var t = Fp16Trainer(new LossScaling(), lr: 3e-3);
        Assert.Equal(ScalarType.Float16, t.Model.DType);
        var batch = Batch(30);
        var first = t.Step(batch);
        StepResult last = first;
        for (int i = 0; i < 8; i++) last = t.Step(batch);
        // 2^16 may overflow the tied embedding's gradient at first (it does here once); the scaler settles below it.
        Assert.Equal(9, t.StepCount + t.SkippedSteps);
        Assert.InRange(t.SkippedSteps, 0, 2);
        Assert.False(last.Skipped);
        Assert.True(last.Loss < first.Loss * 0.8, $"{first.Loss} -> {last.Loss}");
    }

    [Fact]
    public void An_overflowing_scale_skips_the_step_leaves_the_weights_and_halves_until_training_proceeds()
    {
        var dir = TestModels.TempDir();
        using var t = Fp16Trainer(new LossScaling(InitialScale: Math.Pow(2, 40)));
        var before = Snapshot(t);
        var batch = Batch(50);
        t.SaveState(Path.Combine(dir, "before.safetensors"));

        var r = t.Step(batch);
        Assert.True(r.Skipped);
        Assert.False(double.IsFinite(r.GradNorm));
        Assert.True(double.IsFinite(r.Loss) && r.Loss > 0); // the forward is fine; only the scaled backward overflowed
        Assert.Equal(Math.Pow(2, 40), r.LossScale);
        Assert.Equal(Math.Pow(2, 39), t.LossScale);
        Assert.Equal((0L, 1L), (t.StepCount, t.SkippedSteps));
        foreach (var (name, p) in t.Model.named_parameters()) Assert.Equal(0.0, TestModels.MaxAbsDiff(before[name], p));
        t.SaveState(Path.Combine(dir, "after.safetensors"));
        var stateBefore = Safetensors.Load(Path.Combine(dir, "before.safetensors"));
        var stateAfter = Safetensors.Load(Path.Combine(dir, "after.safetensors"));
        Assert.Equal(0.0, TestModels.MaxAbsDiff(stateBefore["master"], stateAfter["master"]));
        Assert.Equal(0.0, stateAfter["exp_avg"].abs().max().item<float>());
        Assert.Equal(0.0, stateAfter["exp_avg_sq"].abs().max().item<float>());

        int skipped = 1;
        while (r.Skipped && skipped < 40) { r = t.Step(batch); if (r.Skipped) skipped++; }
        Assert.False(r.Skipped);
        Assert.True(double.IsFinite(r.GradNorm) && r.GradNorm > 0);
        Assert.Equal((1L, (long)skipped), (t.StepCount, t.SkippedSteps));
        Assert.Equal(Math.Pow(2, 40 - skipped), t.LossScale);
        Assert.Contains(t.Model.named_parameters(), p => TestModels.MaxAbsDiff(before[p.name], p.parameter) > 0);
    }

    [Fact]
    public void The_scale_doubles_after_the_growth_interval_of_good_steps()
    {
        using var t = Fp16Trainer(new LossScaling(InitialScale: 1024, GrowthInterval: 3));
        var scales = Enumerable.Range(0, 7).Select(i => t.Step(Batch(60 + i))).ToList();
        Assert.All(scales, r => Assert.False(r.Skipped));
        Assert.Equal([1024, 1024, 1024, 2048, 2048, 2048, 4096], scales.Select(r => r.LossScale));
        Assert.Equal(4096, t.LossScale);
    }

    [Fact]
    public void Saved_state_restores_the_scaler_for_an_exact_resume()
    {
        var dir = TestModels.TempDir();
        var scaling = new LossScaling(InitialScale: Math.Pow(2, 40), GrowthInterval: 2);
        using var a = Fp16Trainer(scaling);
        int good = 0;
        for (int i = 0; good < 3 && i < 60; i++) if (!a.Step(Batch(70 + i)).Skipped) good++;
        Assert.Equal(3, good);
        Assert.True(a.SkippedSteps > 0);
        a.SaveState(Path.Combine(dir, "optimizer.safetensors"));
        HfModelDirectory.Save(a.Model, dir, ScalarType.Float16);
        var next = a.Step(Batch(200)); // the 4th good step doubles the scale only if the good-step count survived

        using var b = new SftTrainer(HfModelDirectory.Load(dir, dtype: ScalarType.Float16), new TrainingOptions(LearningRate: 1e-3, LossScaling: scaling));
        b.LoadState(Path.Combine(dir, "optimizer.safetensors"));
        Assert.Equal((3L, a.SkippedSteps), (b.StepCount, b.SkippedSteps));
        Assert.Equal(next.LossScale, b.LossScale);
        var resumed = b.Step(Batch(200));
        Assert.Equal(next, resumed);
        Assert.Equal(a.LossScale, b.LossScale);
        Assert.Equal(next.LossScale * 2, b.LossScale);
        var pa = a.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in b.Model.named_parameters()) Assert.Equal(0.0, TestModels.MaxAbsDiff(pa[name], p));
    }

    [Fact]
    public void Loss_scaling_on_fp32_parameters_gives_the_unscaled_gradients()
    {
        // The mechanism is dtype-independent: a power-of-two scale in fp32 changes nothing but rounding.
        using var plain = new SftTrainer(TestModels.Create(), new TrainingOptions());
        using var scaled = new SftTrainer(TestModels.Create(), new TrainingOptions(LossScaling: new LossScaling()));
        var a = plain.AccumulateGradients(Batch(80));
        var b = scaled.AccumulateGradients(Batch(80));
        Assert.Equal(a.LossSum, b.LossSum);
        Assert.True(TestModels.MaxAbsDiff(plain.GradientBuffer, scaled.GradientBuffer) < 1e-5 * plain.GradientBuffer.abs().max().item<float>());
    }

    [Fact]
    public void Invalid_scaling_settings_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SftTrainer(TestModels.Create(), new TrainingOptions(LossScaling: new LossScaling(InitialScale: 0.5))));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SftTrainer(TestModels.Create(), new TrainingOptions(LossScaling: new LossScaling(GrowthInterval: 0))));
    }
}
