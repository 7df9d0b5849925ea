using FunctionGemma.Protos;

namespace FunctionGemma.Trainer.Training;

/// <summary>A <see cref="TrainSpec"/> with the reference recipe's defaults filled in (recipe.md, "Training").</summary>
public sealed record TrainingSettings(
    int MaxLength,
    int Epochs,
    int PerDeviceBatch,
    int GradAccumulation,
    double LearningRate,
    string LrSchedule,
    double WarmupRatio,
    double WeightDecay,
    double MaxGradNorm,
    int LogEvery,
    int EvalEvery,
    int CheckpointEvery,
    string Precision,
    LossOn LossOn,
    ulong Seed,
    int MaxSteps,
    int MaxEvalRows,
    bool GradientCheckpointing,
    bool CudaGraphs)
{
    /// <summary>Hugging Face's default seed.</summary>
    public const ulong DefaultSeed = 42;

    /// <summary>Resolves the defaults of <paramref name="spec"/> (0/empty = the recipe's value; cuda_graphs unset = on).</summary>
    /// <exception cref="ArgumentException">A value is out of range or unknown; the message names the field.</exception>
    public static TrainingSettings From(TrainSpec spec)
    {
        static int Or(int v, int d) => v == 0 ? d : v;
        static double OrD(double v, double d) => v == 0 ? d : v;
        var s = new TrainingSettings(
            MaxLength: Or(spec.MaxLength, 512),
            Epochs: Or(spec.Epochs, 1),
            PerDeviceBatch: Or(spec.PerDeviceBatch, 2),
            GradAccumulation: Or(spec.GradAccumulation, 8),
            LearningRate: OrD(spec.LearningRate, 5e-5),
            LrSchedule: string.IsNullOrEmpty(spec.LrSchedule) ? "cosine" : spec.LrSchedule,
            WarmupRatio: OrD(spec.WarmupRatio, 0.03),
            WeightDecay: spec.WeightDecay,
            MaxGradNorm: OrD(spec.MaxGradNorm, 1.0),
            LogEvery: Or(spec.LogEvery, 10),
            EvalEvery: Or(spec.EvalEvery, 10),
            CheckpointEvery: Or(spec.CheckpointEvery, 10),
            Precision: spec.Precision ?? "",
            LossOn: spec.LossOn switch
            {
                "" or "full_text" => LossOn.FullText,
                "completion_only" => LossOn.CompletionOnly,
                var x => throw new ArgumentException($"TrainSpec.loss_on '{x}' is unknown: use \"full_text\" or \"completion_only\"."),
            },
            Seed: spec.Seed == 0 ? DefaultSeed : spec.Seed,
            MaxSteps: spec.MaxSteps,
            MaxEvalRows: spec.MaxEvalRows,
            GradientCheckpointing: spec.GradientCheckpointing,
            CudaGraphs: !spec.HasCudaGraphs || spec.CudaGraphs);
        if (s.MaxLength < 8) throw new ArgumentException($"TrainSpec.max_length {s.MaxLength} is too small: use at least 8 (the recipe uses 512).");
        if (s.Epochs < 0 || s.PerDeviceBatch < 0 || s.GradAccumulation < 0 || s.MaxSteps < 0 || s.MaxEvalRows < 0)
            throw new ArgumentException("TrainSpec: epochs, per_device_batch, grad_accumulation, max_steps and max_eval_rows must not be negative.");
        if (s.LearningRate < 0 || s.WarmupRatio < 0 || s.WarmupRatio > 1 || s.WeightDecay < 0 || s.MaxGradNorm < 0)
            throw new ArgumentException("TrainSpec: learning_rate, weight_decay and max_grad_norm must be ≥ 0 and warmup_ratio within [0, 1].");
        if (s.LrSchedule is not ("cosine" or "linear" or "constant"))
            throw new ArgumentException($"TrainSpec.lr_schedule '{s.LrSchedule}' is unknown: use cosine, linear or constant.");
        if (s.Precision is not ("" or "bf16" or "fp16" or "fp32"))
            throw new ArgumentException($"TrainSpec.precision '{s.Precision}' is unknown: use bf16, fp16 (dynamic loss scaling, for GPUs without bf16) or fp32 (empty = bf16 on GPUs, fp32 on CPU).");
        return s;
    }

    /// <summary>Examples per optimizer step over all ranks.</summary>
    public int GlobalBatch(int worldSize) => PerDeviceBatch * GradAccumulation * worldSize;

    /// <summary>Optimizer steps per epoch over <paramref name="examples"/> rows (the last step may be short).</summary>
    public int StepsPerEpoch(int examples, int worldSize) => Math.Max(1, (examples + GlobalBatch(worldSize) - 1) / GlobalBatch(worldSize));

    /// <summary>Optimizer steps of the whole run.</summary>
    public int TotalSteps(int examples, int worldSize) => MaxSteps > 0 ? MaxSteps : Epochs * StepsPerEpoch(examples, worldSize);
}

/// <summary>Which tokens the loss covers.</summary>
public enum LossOn
{
    /// <summary>Every token of the training text, as the reference (TRL on a "text" column).</summary>
    FullText,
    /// <summary>Only the target call (and the EOS), as TRL's completion-only loss on prompt/completion rows.</summary>
    CompletionOnly,
}

/// <summary>Learning-rate schedules with warmup, as transformers' <c>get_*_schedule_with_warmup</c>.</summary>
public static class LrSchedule
{
    /// <summary>Warmup steps: <c>ceil(total × ratio)</c>, as TrainingArguments.get_warmup_steps.</summary>
    public static int WarmupSteps(int totalSteps, double ratio) => (int)Math.Ceiling(totalSteps * ratio);

    /// <summary>
    /// The multiplier of the base learning rate for optimizer step <paramref name="step"/> (0-based: the scheduler
    /// steps after the optimizer, so the first update uses factor(0), which is 0 during warmup).
    /// </summary>
    public static double Factor(string schedule, int step, int totalSteps, int warmupSteps)
    {
        if (step < warmupSteps) return (double)step / Math.Max(1, warmupSteps);
        double progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps);
        return schedule switch
        {
            "cosine" => Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * 0.5 * 2.0 * progress))),
            "linear" => Math.Max(0.0, (double)(totalSteps - step) / Math.Max(1, totalSteps - warmupSteps)),
            _ => 1.0,
        };
    }
}
