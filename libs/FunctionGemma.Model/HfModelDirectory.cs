using System.Text.Json;
using TorchSharp;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace FunctionGemma.Model;

/// <summary>
/// A Hugging Face model directory: <c>config.json</c>, <c>generation_config.json</c>, <c>model.safetensors</c>
/// (or shards with an index), and the tokenizer files. What <see cref="Save"/> writes,
/// <c>transformers.AutoModelForCausalLM.from_pretrained</c> loads.
/// </summary>
public static class HfModelDirectory
{
    /// <summary>Tokenizer and chat-template files copied alongside the weights when present.</summary>
    public static readonly string[] TokenizerFiles =
    [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
        "added_tokens.json", "chat_template.jinja",
    ];

    /// <summary>
    /// Loads a model directory onto <paramref name="device"/> (CPU when null) with parameters in <paramref name="dtype"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">A weight is missing, unexpected or of the wrong shape.</exception>
    public static Gemma3ForCausalLM Load(string dir, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        var config = Gemma3Config.Load(dir);
        var model = new Gemma3ForCausalLM(config);
        var weights = Safetensors.LoadDirectory(dir);
        try
        {
            LoadWeights(model, weights, dir);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
        model.to(dtype);
        if (device is not null) model.to(device);
        return model;
    }

    /// <summary>
    /// The stop ids of a model directory: <c>eos_token_id</c> of <c>generation_config.json</c> (a number or a list),
    /// else of <c>config.json</c>.
    /// </summary>
    public static IReadOnlyList<int> GenerationStopIds(string dir)
    {
        var file = Path.Combine(dir, "generation_config.json");
        if (File.Exists(file) && JsonNode.Parse(File.ReadAllText(file))?["eos_token_id"] is JsonNode eos)
            return eos is JsonArray a ? a.Select(x => x!.GetValue<int>()).ToArray() : [eos.GetValue<int>()];
        return Gemma3Config.Load(dir).EosTokenIds;
    }

    /// <summary>Copies tensors keyed by HF names into the model's parameters (the tied <c>lm_head.weight</c> is skipped).</summary>
    /// <exception cref="InvalidDataException">A weight is missing, unexpected or of the wrong shape.</exception>
    public static void LoadWeights(Gemma3ForCausalLM model, IReadOnlyDictionary<string, Tensor> weights, string source = "weights")
    {
        var parameters = model.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        var unexpected = weights.Keys.Where(k => !parameters.ContainsKey(k) && k != "lm_head.weight").ToList();
        if (unexpected.Count > 0) throw new InvalidDataException($"{source}: unexpected weights {string.Join(", ", unexpected.Take(5))}; is this a Gemma3ForCausalLM checkpoint?");
        using var _ = no_grad();
        foreach (var (name, p) in parameters)
        {
            if (!weights.TryGetValue(name, out var w)) throw new InvalidDataException($"{source}: weight '{name}' is missing.");
            if (!w.shape.SequenceEqual(p.shape)) throw new InvalidDataException($"{source}: '{name}' has shape [{string.Join(",", w.shape)}], the config needs [{string.Join(",", p.shape)}].");
            p.copy_(w);
        }
        Gemma3ForCausalLM.WeightsChanged();
    }

    /// <summary>The model's weights keyed by HF names, converted to <paramref name="dtype"/>, on the CPU.</summary>
    public static Dictionary<string, Tensor> StateDict(Gemma3ForCausalLM model, ScalarType dtype) =>
        model.named_parameters().ToDictionary(x => x.name, x => x.parameter.detach().to(CPU).to_type(dtype));

    /// <summary>
    /// Writes <paramref name="model"/> as a HF directory in <paramref name="dtype"/>, with a generation config whose
    /// stop ids are <paramref name="eosTokenIds"/> (the config's when null), and copies tokenizer files from
    /// <paramref name="tokenizerDir"/> when given.
    /// </summary>
    public static void Save(Gemma3ForCausalLM model, string dir, ScalarType dtype = ScalarType.BFloat16,
        string? tokenizerDir = null, IReadOnlyList<int>? eosTokenIds = null, long maxShardBytes = 5L << 30)
    {
        Directory.CreateDirectory(dir);
        var c = model.Config;
        string dtypeName = dtype switch
        {
            ScalarType.BFloat16 => "bfloat16",
            ScalarType.Float16 => "float16",
            ScalarType.Float32 => "float32",
            _ => throw new ArgumentException($"Save writes bf16, fp16 or fp32, not {dtype}.", nameof(dtype)),
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), c.ToJson(dtypeName));
        var eos = eosTokenIds ?? c.EosTokenIds;
        var gen = new JsonObject
        {
            ["bos_token_id"] = c.BosTokenId,
            ["eos_token_id"] = new JsonArray(eos.Select(e => (JsonNode)JsonValue.Create(e)).ToArray()),
            ["pad_token_id"] = c.PadTokenId,
        };
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), gen.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        var state = StateDict(model, dtype);
        try
        {
            Safetensors.SaveDirectory(dir, state, maxShardBytes);
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
        if (tokenizerDir is not null)
        {
            if (!Directory.Exists(tokenizerDir)) throw new DirectoryNotFoundException($"Tokenizer directory '{tokenizerDir}' does not exist.");
            foreach (var f in TokenizerFiles)
            {
                var src = Path.Combine(tokenizerDir, f);
                if (File.Exists(src)) File.Copy(src, Path.Combine(dir, f), overwrite: true);
            }
        }
    }
}
