using YamlDotNet.Serialization;

namespace FunctionGemma.Experiments;

/// <summary>
/// One experiment, as a platform team writes it in YAML. Every default is the reference recipe's
/// (../shared/reference/recipe.md), so an empty section reproduces the reference.
/// </summary>
public sealed record ExperimentSpec
{
    /// <summary>A human name; also the default Registry model name.</summary>
    public string Name { get; init; } = "";
    /// <summary>Where the rows come from and which subset is used.</summary>
    public DatasetSection Dataset { get; init; } = new();
    /// <summary>The model fine-tuning starts from.</summary>
    public BaseModelSection BaseModel { get; init; } = new();
    /// <summary>Training hyper-parameters.</summary>
    public TrainSection Train { get; init; } = new();
    /// <summary>How the baseline and the fine-tuned model are scored.</summary>
    public EvaluationSection Evaluation { get; init; } = new();
    /// <summary>How the result is registered.</summary>
    public RegisterSection Register { get; init; } = new();
    /// <summary>Optional Hugging Face Hub target; null = not published.</summary>
    public PublishSection? Publish { get; init; }
}

/// <summary>Dataset source and subset: shuffle(seed) → first <see cref="Total"/> rows → the last <see cref="Eval"/> are the eval split.</summary>
public sealed record DatasetSection
{
    /// <summary>"hf:OWNER/NAME[@REV]", "parquet:PATH", "jsonl:PATH" or "sample".</summary>
    public string Source { get; init; } = "hf:interstellarninja/hermes_reasoning_tool_use";
    /// <summary>The shuffle seed.</summary>
    public ulong Seed { get; init; } = 40;
    /// <summary>Rows kept after shuffling.</summary>
    public int Total { get; init; } = 3000;
    /// <summary>Rows of the eval split (taken from the end of the kept rows).</summary>
    public int Eval { get; init; } = 300;
    /// <summary>The cleaning rule set.</summary>
    public string Rules { get; init; } = "reference";
}

/// <summary>Exactly one of: a local HF directory, a Registry reference, or a random initialization.</summary>
public sealed record BaseModelSection
{
    /// <summary>A local Hugging Face model directory.</summary>
    public string? Path { get; init; }
    /// <summary>A Registry version id or NAME:ALIAS.</summary>
    public string? Registry { get; init; }
    /// <summary>A random-init Gemma 3 of a named size ("tiny" or "270m"), for runs without real weights.</summary>
    public string? Init { get; init; }
    /// <summary>Seed of the random initialization.</summary>
    public ulong InitSeed { get; init; }
}

/// <summary>Supervised fine-tuning hyper-parameters; defaults are the reference's.</summary>
public sealed record TrainSection
{
    /// <summary>Tokens per row after truncation.</summary>
    public int MaxLength { get; init; } = 512;
    /// <summary>Passes over the train split.</summary>
    public int Epochs { get; init; } = 1;
    /// <summary>Rows per device per micro-step.</summary>
    public int PerDeviceBatch { get; init; } = 2;
    /// <summary>Micro-steps per optimizer step.</summary>
    public int GradAccumulation { get; init; } = 8;
    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 5e-5;
    /// <summary>"cosine", "linear" or "constant".</summary>
    public string LrSchedule { get; init; } = "cosine";
    /// <summary>Share of the steps spent warming up.</summary>
    public double WarmupRatio { get; init; } = 0.03;
    /// <summary>AdamW weight decay.</summary>
    public double WeightDecay { get; init; }
    /// <summary>Gradient clipping norm.</summary>
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Optimizer steps between log lines.</summary>
    public int LogEvery { get; init; } = 10;
    /// <summary>Optimizer steps between evaluations of the eval loss.</summary>
    public int EvalEvery { get; init; } = 10;
    /// <summary>Optimizer steps between checkpoints.</summary>
    public int CheckpointEvery { get; init; } = 10;
    /// <summary>Recompute activations in backward to save memory.</summary>
    public bool GradientCheckpointing { get; init; } = true;
    /// <summary>"bf16", "fp16" or "fp32".</summary>
    public string Precision { get; init; } = "bf16";
    /// <summary>"full_text" (the reference) or "completion_only".</summary>
    public string LossOn { get; init; } = "full_text";
    /// <summary>Shuffle and init seed of the run.</summary>
    public ulong Seed { get; init; } = 42;
    /// <summary>"cpu", "cuda" (every visible GPU) or "cuda:0,1".</summary>
    public string Devices { get; init; } = "cuda";
    /// <summary>Stop after this many optimizer steps (0 = the epochs decide).</summary>
    public int MaxSteps { get; init; }
    /// <summary>
    /// Replay captured CUDA graphs per micro-batch shape on GPUs; unset = the Trainer's default (on; off on CPU and in
    /// fp16). Left out of the canonical text while unset, so the ids of specs written before it stay the same.
    /// </summary>
    [YamlMember(DefaultValuesHandling = DefaultValuesHandling.OmitNull)]
    public bool? CudaGraphs { get; init; }
}

/// <summary>Evaluation before and after training; defaults are the reference's.</summary>
public sealed record EvaluationSection
{
    /// <summary>The first n clean rows of the eval split.</summary>
    public int N { get; init; } = 50;
    /// <summary>Greedy decoding budget.</summary>
    public int MaxNewTokens { get; init; } = 128;
    /// <summary>Rows decoded together.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>"cpu" or "cuda:N".</summary>
    public string Device { get; init; } = "cuda:0";
    /// <summary>Score the base model before training.</summary>
    public bool Baseline { get; init; } = true;
}

/// <summary>How the fine-tuned model enters the Registry.</summary>
public sealed record RegisterSection
{
    /// <summary>Registry model name; empty = the experiment name.</summary>
    public string? Name { get; init; }
    /// <summary>Aliases moved to the new version.</summary>
    public List<string> Aliases { get; init; } = ["latest"];
}

/// <summary>The Hugging Face Hub repository to publish to.</summary>
public sealed record PublishSection
{
    /// <summary>OWNER/NAME on the Hub.</summary>
    public string RepoId { get; init; } = "";
    /// <summary>Create the repository private.</summary>
    public bool Private { get; init; } = true;
    /// <summary>Branch to commit to.</summary>
    public string Revision { get; init; } = "main";
}
