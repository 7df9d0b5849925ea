using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using FunctionGemma.Core.Tokenizer;
using FunctionGemma.Protos;

namespace FunctionGemma.Evaluator.Evaluation;

/// <summary>The defaults of an <see cref="EvalSpec"/> (the reference evaluation's), its validation, and the report id rule.</summary>
public static class EvalSpecs
{
    public const int DefaultN = 50;
    public const int DefaultMaxNewTokens = 128;
    public const int DefaultBatchSize = 16;

    /// <summary>A copy with every default filled in: eval split, n 50, 128 new tokens, batch 16, stops [1, 106, 50], cpu, dtype by device.</summary>
    /// <exception cref="ArgumentException">The spec names no model or dataset, or a number, device or dtype is invalid.</exception>
    public static EvalSpec Normalize(EvalSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var s = spec.Clone();
        if (s.Model is null || s.Model.SourceCase == ModelRef.SourceOneofCase.None)
            throw new ArgumentException("EvalSpec.model is empty: set registry_version, registry_alias, local_path or checkpoint.");
        if (s.Dataset is null || string.IsNullOrWhiteSpace(s.Dataset.Version))
            throw new ArgumentException("EvalSpec.dataset.version is empty: pass the version PrepareDataset returned (fg data list).");
        if (s.N < 0) throw new ArgumentException($"EvalSpec.n is {s.N}: use 0 for the default {DefaultN} or a positive row count.");
        if (s.MaxNewTokens < 0) throw new ArgumentException($"EvalSpec.max_new_tokens is {s.MaxNewTokens}: use 0 for {DefaultMaxNewTokens} or a positive count.");
        if (s.BatchSize < 0) throw new ArgumentException($"EvalSpec.batch_size is {s.BatchSize}: use 0 for {DefaultBatchSize} or a positive size.");
        if (s.StopTokenIds.Any(id => id < 0)) throw new ArgumentException("EvalSpec.stop_token_ids must be token ids (>= 0).");
        if (s.Split == Split.Unspecified) s.Split = Split.Eval;
        if (s.N == 0) s.N = DefaultN;
        if (s.MaxNewTokens == 0) s.MaxNewTokens = DefaultMaxNewTokens;
        if (s.BatchSize == 0) s.BatchSize = DefaultBatchSize;
        if (s.StopTokenIds.Count == 0) s.StopTokenIds.AddRange(FunctionGemmaTokens.DefaultStopIds);
        s.Device = NormalizeDevice(s.Device);
        s.Dtype = NormalizeDtype(s.Dtype, s.Device);
        return s;
    }

    /// <summary>"cpu", or "cuda:N" ("cuda" alone is "cuda:0").</summary>
    /// <exception cref="ArgumentException">Anything else.</exception>
    public static string NormalizeDevice(string? device)
    {
        var d = (device ?? "").Trim().ToLowerInvariant();
        if (d is "" or "cpu") return "cpu";
        if (d == "cuda") return "cuda:0";
        if (d.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(d.AsSpan(5), out var n) && n >= 0) return $"cuda:{n}";
        throw new ArgumentException($"EvalSpec.device '{device}' is not 'cpu', 'cuda' or 'cuda:N'.");
    }

    /// <summary>"float32", "bfloat16" or "float16" (aliases fp32, bf16, fp16); empty = float32 on cpu, bfloat16 on cuda.</summary>
    /// <exception cref="ArgumentException">Anything else.</exception>
    public static string NormalizeDtype(string? dtype, string device) => (dtype ?? "").Trim().ToLowerInvariant() switch
    {
        "" => device == "cpu" ? "float32" : "bfloat16",
        "float32" or "fp32" => "float32",
        "bfloat16" or "bf16" => "bfloat16",
        "float16" or "fp16" => "float16",
        _ => throw new ArgumentException($"EvalSpec.dtype '{dtype}' is not float32, bfloat16 or float16."),
    };

    /// <summary>
    /// The fields of a normalized spec that decide its outcome, one per line: split, n, max new tokens, stop ids (as a
    /// set), batch size (padding changes float rounding), device type (not its index) and dtype. Lineage, force and the
    /// model reference's spelling are left out: the model counts by its resolved identity.
    /// </summary>
    public static string OutcomeText(EvalSpec normalized) => string.Join('\n',
        $"split={normalized.Split}",
        $"n={normalized.N}",
        $"max_new_tokens={normalized.MaxNewTokens}",
        $"stop_token_ids={string.Join(',', normalized.StopTokenIds.Distinct().Order())}",
        $"batch_size={normalized.BatchSize}",
        $"device={(normalized.Device == "cpu" ? "cpu" : "cuda")}",
        $"dtype={normalized.Dtype}");

    /// <summary>sha256 (hex) of <see cref="OutcomeText"/>.</summary>
    public static string SpecHash(EvalSpec normalized) => Sha256Hex(OutcomeText(normalized));

    /// <summary>
    /// The report id: sha256 (hex) of the spec's outcome fields, the resolved model identity, the dataset version and
    /// the code version. The same evaluation of the same model on the same data by the same code has the same id.
    /// </summary>
    public static string ReportId(EvalSpec normalized, string modelIdentity, string codeVersion) => Sha256Hex(string.Join('\n',
        "functiongemma-eval-report/v1",
        $"model={modelIdentity}",
        $"dataset={normalized.Dataset.Version}",
        OutcomeText(normalized),
        $"code={codeVersion}"));

    /// <summary>The build's informational version (with the git commit the SDK appends), or "dev".</summary>
    public static string BuildCodeVersion() =>
        typeof(EvalSpecs).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion is { Length: > 0 } v ? v : "dev";

    internal static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
