using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace FunctionGemma.Experiments;

/// <summary>Thrown for an experiment spec that cannot run; the message names the file, the key and the fix.</summary>
public sealed class ExperimentSpecException(string message) : ArgumentException(message);

/// <summary>Reads experiment specs from YAML (snake_case keys) and checks every value before anything runs.</summary>
public static partial class ExperimentSpecLoader
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .WithEnforceRequiredMembers()
        .Build();

    /// <summary>Loads and validates a spec file.</summary>
    public static ExperimentSpec LoadFile(string path)
    {
        if (!File.Exists(path))
            throw new ExperimentSpecException($"Experiment spec '{path}' does not exist. Pass a YAML file such as samples/quickstart.yaml.");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates YAML text; <paramref name="origin"/> names it in errors.</summary>
    public static ExperimentSpec Parse(string yaml, string origin = "spec")
    {
        ExperimentSpec? spec;
        try { spec = Deserializer.Deserialize<ExperimentSpec?>(yaml); }
        catch (YamlException e)
        {
            // YamlDotNet nests the useful message (e.g. an unknown key) in the inner exception.
            var detail = e.InnerException?.Message ?? e.Message;
            throw new ExperimentSpecException($"{origin}: line {e.Start.Line}, column {e.Start.Column}: {Clean(detail)}");
        }
        spec ??= new ExperimentSpec();
        Validate(spec, origin);
        return spec;
    }

    private static string Clean(string message) =>
        UnknownProperty().Replace(message, m => $"unknown key '{m.Groups[1].Value}' (check its spelling against samples/reference.yaml)");

    private static void Validate(ExperimentSpec spec, string origin)
    {
        var errors = new List<string>();
        void Check(bool ok, string key, string problem) { if (!ok) errors.Add($"{key}: {problem}"); }

        Check(!string.IsNullOrWhiteSpace(spec.Name) && SafeName().IsMatch(spec.Name), "name",
            "required; letters, digits, '.', '_' and '-' only (it names the model in the Registry)");

        var d = spec.Dataset;
        Check(d.Source == "sample" || d.Source.StartsWith("hf:", StringComparison.Ordinal) || d.Source.StartsWith("parquet:", StringComparison.Ordinal)
              || d.Source.StartsWith("jsonl:", StringComparison.Ordinal), "dataset.source",
            $"'{d.Source}' is not one of sample, hf:OWNER/NAME[@REV], parquet:PATH, jsonl:PATH");
        Check(d.Total > 0, "dataset.total", "must be > 0");
        Check(d.Eval > 0 && d.Eval < d.Total, "dataset.eval", $"must be > 0 and < dataset.total ({d.Total})");
        Check(d.Rules is "reference", "dataset.rules", $"'{d.Rules}' is not a known rule set (reference)");

        var m = spec.BaseModel;
        var given = new[] { m.Path, m.Registry, m.Init }.Count(s => !string.IsNullOrWhiteSpace(s));
        Check(given == 1, "base_model", "give exactly one of path (local HF directory), registry (VERSION or NAME:ALIAS), init (tiny | 270m)");
        Check(m.Init is null or "tiny" or "270m", "base_model.init", $"'{m.Init}' is not tiny or 270m");

        var t = spec.Train;
        Check(t.MaxLength is > 0 and <= 32768, "train.max_length", "must be in 1..32768");
        Check(t.Epochs > 0 || t.MaxSteps > 0, "train.epochs", "must be > 0 (or set train.max_steps)");
        Check(t.PerDeviceBatch > 0, "train.per_device_batch", "must be > 0");
        Check(t.GradAccumulation > 0, "train.grad_accumulation", "must be > 0");
        Check(t.LearningRate is > 0 and < 1, "train.learning_rate", "must be in (0, 1)");
        Check(t.LrSchedule is "cosine" or "linear" or "constant", "train.lr_schedule", $"'{t.LrSchedule}' is not cosine, linear or constant");
        Check(t.WarmupRatio is >= 0 and < 1, "train.warmup_ratio", "must be in [0, 1)");
        Check(t.WeightDecay >= 0, "train.weight_decay", "must be >= 0");
        Check(t.MaxGradNorm >= 0, "train.max_grad_norm", "must be >= 0 (0 = no clipping)");
        Check(t.LogEvery > 0 && t.EvalEvery > 0 && t.CheckpointEvery > 0, "train.log_every/eval_every/checkpoint_every", "must be > 0");
        Check(t.Precision is "bf16" or "fp16" or "fp32", "train.precision", $"'{t.Precision}' is not bf16, fp16 or fp32");
        Check(t.LossOn is "full_text" or "completion_only", "train.loss_on", $"'{t.LossOn}' is not full_text or completion_only");
        Check(DeviceList().IsMatch(t.Devices), "train.devices", $"'{t.Devices}' is not cpu, cuda or cuda:0,1,...");
        Check(t.MaxSteps >= 0, "train.max_steps", "must be >= 0");

        var e = spec.Evaluation;
        Check(e.N > 0, "evaluation.n", "must be > 0");
        Check(e.N <= d.Eval, "evaluation.n", $"must be <= dataset.eval ({d.Eval})");
        Check(e.MaxNewTokens is > 0 and <= 4096, "evaluation.max_new_tokens", "must be in 1..4096");
        Check(e.BatchSize > 0, "evaluation.batch_size", "must be > 0");
        Check(SingleDevice().IsMatch(e.Device), "evaluation.device", $"'{e.Device}' is not cpu or cuda:N");

        Check(spec.Register.Name is null || SafeName().IsMatch(spec.Register.Name), "register.name", "letters, digits, '.', '_' and '-' only");
        Check(spec.Register.Aliases.All(a => SafeName().IsMatch(a)), "register.aliases", "letters, digits, '.', '_' and '-' only");
        if (spec.Publish is { } p)
            Check(RepoId().IsMatch(p.RepoId), "publish.repo_id", $"'{p.RepoId}' is not OWNER/NAME");

        if (errors.Count > 0)
            throw new ExperimentSpecException($"{origin} is not a valid experiment spec:\n  - " + string.Join("\n  - ", errors));
    }

    /// <summary>The spec as canonical text (defaults filled in), the input of the experiment id.</summary>
    public static string Canonical(ExperimentSpec spec) =>
        new SerializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
            .ConfigureDefaultValuesHandling(DefaultValuesHandling.Preserve).Build().Serialize(spec);

    /// <summary>Experiment id: the spec's name and a short hash of its canonical text, so a re-run finds its own record.</summary>
    public static string ExperimentId(ExperimentSpec spec)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Canonical(spec)));
        return $"{spec.Name}-{Convert.ToHexStringLower(hash)[..12]}";
    }

    [GeneratedRegex(@"Property '([^']+)' not found on type '[^']+'\.?")]
    private static partial Regex UnknownProperty();
    [GeneratedRegex(@"^[A-Za-z0-9._-]+$")]
    private static partial Regex SafeName();
    [GeneratedRegex(@"^(cpu|cuda|cuda:\d+(,\d+)*)$")]
    private static partial Regex DeviceList();
    [GeneratedRegex(@"^(cpu|cuda:\d+)$")]
    private static partial Regex SingleDevice();
    [GeneratedRegex(@"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$")]
    private static partial Regex RepoId();
}
