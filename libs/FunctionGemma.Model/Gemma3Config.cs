using System.Text.Json;
using System.Text.Json.Nodes;

namespace FunctionGemma.Model;

/// <summary>Thrown when a Hugging Face config.json asks for something this implementation does not do.</summary>
public sealed class UnsupportedConfigException(string message) : Exception(message);

/// <summary>
/// The architecture of a Gemma 3 text model, read from (and written as) a Hugging Face <c>config.json</c>
/// (<c>Gemma3ForCausalLM</c>, <c>model_type</c> <c>gemma3_text</c>). Names follow the HF fields.
/// </summary>
/// <param name="VocabSize">Rows of the embedding (262144 for FunctionGemma).</param>
/// <param name="HiddenSize">Model width.</param>
/// <param name="IntermediateSize">Width of the gated MLP.</param>
/// <param name="NumHiddenLayers">Decoder layers.</param>
/// <param name="NumAttentionHeads">Query heads.</param>
/// <param name="NumKeyValueHeads">Key/value heads (grouped-query attention).</param>
/// <param name="HeadDim">Width of one head.</param>
/// <param name="LayerTypes">Per layer, <c>sliding_attention</c> or <c>full_attention</c>.</param>
/// <param name="SlidingWindow">Keys a sliding layer sees: key position &gt; query position - window.</param>
/// <param name="RopeThetaGlobal">RoPE base of full-attention layers.</param>
/// <param name="RopeThetaLocal">RoPE base of sliding layers.</param>
/// <param name="QueryPreAttnScalar">Attention scores are scaled by its inverse square root.</param>
/// <param name="RmsNormEps">Epsilon of every RMSNorm.</param>
/// <param name="MaxPositionEmbeddings">Longest context.</param>
/// <param name="InitializerRange">Standard deviation of the normal init of linear and embedding weights.</param>
/// <param name="PadTokenId">Padding id; its embedding row starts at zero and gets no gradient from the input side.</param>
/// <param name="BosTokenId">Beginning-of-sequence id.</param>
/// <param name="EosTokenIds">End-of-sequence ids.</param>
/// <param name="TieWordEmbeddings">Whether the LM head is the embedding matrix (only true is supported).</param>
public sealed record Gemma3Config(
    int VocabSize,
    int HiddenSize,
    int IntermediateSize,
    int NumHiddenLayers,
    int NumAttentionHeads,
    int NumKeyValueHeads,
    int HeadDim,
    IReadOnlyList<string> LayerTypes,
    int SlidingWindow,
    double RopeThetaGlobal,
    double RopeThetaLocal,
    double QueryPreAttnScalar,
    double RmsNormEps,
    int MaxPositionEmbeddings,
    double InitializerRange = 0.02,
    int PadTokenId = 0,
    int BosTokenId = 2,
    IReadOnlyList<int>? EosTokenIds = null,
    bool TieWordEmbeddings = true)
{
    /// <summary>Layer type name of a sliding-window layer.</summary>
    public const string SlidingAttention = "sliding_attention";
    /// <summary>Layer type name of a global layer.</summary>
    public const string FullAttention = "full_attention";

    /// <summary>End-of-sequence ids (defaults to 1, <c>&lt;eos&gt;</c>).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = EosTokenIds ?? [1];

    /// <summary>Whether layer <paramref name="layer"/> uses the sliding window.</summary>
    public bool IsSliding(int layer) => LayerTypes[layer] == SlidingAttention;

    /// <summary>The FunctionGemma / Gemma 3 270M architecture.</summary>
    public static Gemma3Config FunctionGemma270M(int layers = 18) => new(
        VocabSize: 262144, HiddenSize: 640, IntermediateSize: 2048, NumHiddenLayers: layers,
        NumAttentionHeads: 4, NumKeyValueHeads: 1, HeadDim: 256, LayerTypes: DefaultLayerTypes(layers),
        SlidingWindow: 512, RopeThetaGlobal: 1_000_000.0, RopeThetaLocal: 10_000.0, QueryPreAttnScalar: 256,
        RmsNormEps: 1e-6, MaxPositionEmbeddings: 32768);

    /// <summary>
    /// A small model for tests and quick starts: the real vocabulary (so the real tokenizer works) with a narrow
    /// width, <paramref name="layers"/> layers of which the last is global, and a short sliding window so windows matter.
    /// </summary>
    public static Gemma3Config Tiny(int layers = 3, int vocabSize = 262144, int slidingWindow = 8) => new(
        VocabSize: vocabSize, HiddenSize: 64, IntermediateSize: 128, NumHiddenLayers: layers,
        NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 16,
        LayerTypes: Enumerable.Range(0, layers).Select(i => i == layers - 1 ? FullAttention : SlidingAttention).ToArray(),
        SlidingWindow: slidingWindow, RopeThetaGlobal: 1_000_000.0, RopeThetaLocal: 10_000.0, QueryPreAttnScalar: 16,
        RmsNormEps: 1e-6, MaxPositionEmbeddings: 32768);

    /// <summary>HF's default pattern: every sixth layer is global, the rest slide.</summary>
    public static string[] DefaultLayerTypes(int layers) =>
        Enumerable.Range(0, layers).Select(i => (i + 1) % 6 == 0 ? FullAttention : SlidingAttention).ToArray();

    // Fields HF writes that carry nothing for the forward pass (bookkeeping, generation defaults, dropout of 0).
    static readonly HashSet<string> Ignored =
    [
        "architectures", "model_type", "transformers_version", "torch_dtype", "dtype", "use_cache",
        "cache_implementation", "_sliding_window_pattern", "sliding_window_pattern", "attention_dropout",
        "output_hidden_states", "output_attentions", "return_dict", "is_encoder_decoder", "id2label", "label2id",
        "problem_type", "tokenizer_class", "chunk_size_feed_forward", "_name_or_path", "tie_encoder_decoder",
        "final_logit_softcapping", "attn_logit_softcapping", "attention_bias", "use_bidirectional_attention",
        "rope_scaling", "hidden_act", "hidden_activation", "rope_parameters", "rope_theta", "rope_local_base_freq",
        "layer_types", "eos_token_id", "bos_token_id", "pad_token_id", "initializer_range", "tie_word_embeddings",
        "attn_implementation", "_attn_implementation", "_attn_implementation_autoset", "torchscript", "pruned_heads",
    ];

    static readonly string[] Required =
    [
        "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "head_dim", "sliding_window", "query_pre_attn_scalar", "rms_norm_eps",
        "max_position_embeddings",
    ];

    /// <summary>Reads <c>config.json</c> from a model directory or a file path.</summary>
    public static Gemma3Config Load(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, "config.json") : path;
        if (!File.Exists(file)) throw new FileNotFoundException($"No config.json at '{file}': pass a Hugging Face model directory.", file);
        return FromJson(File.ReadAllText(file), file);
    }

    /// <summary>Parses HF config JSON (flat <c>gemma3_text</c>, or a <c>gemma3</c> config with a <c>text_config</c>).</summary>
    /// <exception cref="UnsupportedConfigException">A field asks for behaviour this implementation lacks, or is unknown.</exception>
    public static Gemma3Config FromJson(string json, string source = "config.json")
    {
        var root = JsonNode.Parse(json) as JsonObject ?? throw new UnsupportedConfigException($"{source}: not a JSON object.");
        if (root["text_config"] is JsonObject text)
        {
            if (root["vision_config"] is not null) throw new UnsupportedConfigException($"{source}: a multimodal Gemma 3 (vision_config) is not supported; export the text model (Gemma3ForCausalLM).");
            root = text;
        }
        string Fail(string what) => throw new UnsupportedConfigException($"{source}: {what}");

        var modelType = root["model_type"]?.GetValue<string>();
        if (modelType is not null and not "gemma3_text") Fail($"model_type '{modelType}' is not supported; expected 'gemma3_text' (Gemma3ForCausalLM).");
        foreach (var (key, _) in root)
            if (!Ignored.Contains(key) && !Required.Contains(key))
                Fail($"unknown field '{key}'. This implementation covers Gemma 3 text models; remove the field if it is inert, or extend Gemma3Config.");
        foreach (var key in Required)
            if (root[key] is null) Fail($"missing required field '{key}'.");

        if (root["final_logit_softcapping"] is JsonValue fs && fs.GetValueKind() != JsonValueKind.Null) Fail("final_logit_softcapping is not supported (Gemma 3 uses none); set it to null.");
        if (root["attn_logit_softcapping"] is JsonValue a && a.GetValueKind() != JsonValueKind.Null) Fail("attn_logit_softcapping is not supported (Gemma 3 uses none); set it to null.");
        if (root["attention_bias"]?.GetValue<bool>() == true) Fail("attention_bias=true is not supported.");
        if (root["use_bidirectional_attention"] is JsonValue bi && bi.GetValueKind() == JsonValueKind.True) Fail("use_bidirectional_attention=true (EmbeddingGemma) is not supported.");
        if (root["attention_dropout"] is JsonValue ad && ad.GetValue<double>() != 0) Fail("attention_dropout must be 0.");
        var act = (root["hidden_activation"] ?? root["hidden_act"])?.GetValue<string>() ?? "gelu_pytorch_tanh";
        if (act != "gelu_pytorch_tanh") Fail($"hidden_activation '{act}' is not supported; Gemma 3 uses gelu_pytorch_tanh.");
        if (root["tie_word_embeddings"]?.GetValue<bool>() == false) Fail("tie_word_embeddings=false is not supported (FunctionGemma ties the LM head to the embeddings).");
        if (root["rope_scaling"] is JsonObject rs && RopeType(rs) != "default") Fail($"rope_scaling type '{RopeType(rs)}' is not supported; only default RoPE.");

        int layers = root["num_hidden_layers"]!.GetValue<int>();
        string[] types;
        if (root["layer_types"] is JsonArray lt)
        {
            types = lt.Select(t => t!.GetValue<string>()).ToArray();
            if (types.Length != layers) Fail($"layer_types has {types.Length} entries for {layers} layers.");
            foreach (var t in types) if (t is not SlidingAttention and not FullAttention) Fail($"layer type '{t}' is not supported.");
        }
        else
        {
            int pattern = (root["sliding_window_pattern"] ?? root["_sliding_window_pattern"])?.GetValue<int>() ?? 6;
            types = Enumerable.Range(0, layers).Select(i => (i + 1) % pattern == 0 ? FullAttention : SlidingAttention).ToArray();
        }

        double global = root["rope_theta"]?.GetValue<double>() ?? 1_000_000.0;
        double local = root["rope_local_base_freq"]?.GetValue<double>() ?? 10_000.0;
        if (root["rope_parameters"] is JsonObject rp)
        {
            // transformers 5 writes one RoPE block per layer type.
            if (rp["full_attention"] is JsonObject full)
            {
                if (RopeType(full) != "default") Fail($"rope_parameters.full_attention type '{RopeType(full)}' is not supported; only default RoPE.");
                global = full["rope_theta"]?.GetValue<double>() ?? global;
            }
            if (rp["sliding_attention"] is JsonObject slide)
            {
                if (RopeType(slide) != "default") Fail($"rope_parameters.sliding_attention type '{RopeType(slide)}' is not supported; only default RoPE.");
                local = slide["rope_theta"]?.GetValue<double>() ?? local;
            }
            if (rp["full_attention"] is null && rp["sliding_attention"] is null)
            {
                if (RopeType(rp) != "default") Fail($"rope_parameters type '{RopeType(rp)}' is not supported; only default RoPE.");
                global = rp["rope_theta"]?.GetValue<double>() ?? global;
            }
        }

        int[] eos = root["eos_token_id"] switch
        {
            JsonArray arr => arr.Select(x => x!.GetValue<int>()).ToArray(),
            JsonValue v when v.GetValueKind() == JsonValueKind.Number => [v.GetValue<int>()],
            _ => [1],
        };
        int IntOr(string key, int fallback) => root[key] is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<int>() : fallback;

        var cfg = new Gemma3Config(
            VocabSize: root["vocab_size"]!.GetValue<int>(),
            HiddenSize: root["hidden_size"]!.GetValue<int>(),
            IntermediateSize: root["intermediate_size"]!.GetValue<int>(),
            NumHiddenLayers: layers,
            NumAttentionHeads: root["num_attention_heads"]!.GetValue<int>(),
            NumKeyValueHeads: root["num_key_value_heads"]!.GetValue<int>(),
            HeadDim: root["head_dim"]!.GetValue<int>(),
            LayerTypes: types,
            SlidingWindow: root["sliding_window"]!.GetValue<int>(),
            RopeThetaGlobal: global,
            RopeThetaLocal: local,
            QueryPreAttnScalar: root["query_pre_attn_scalar"]!.GetValue<double>(),
            RmsNormEps: root["rms_norm_eps"]!.GetValue<double>(),
            MaxPositionEmbeddings: root["max_position_embeddings"]!.GetValue<int>(),
            InitializerRange: root["initializer_range"]?.GetValue<double>() ?? 0.02,
            PadTokenId: IntOr("pad_token_id", 0),
            BosTokenId: IntOr("bos_token_id", 2),
            EosTokenIds: eos);
        cfg.Validate(source);
        return cfg;
    }

    static string RopeType(JsonObject o) => (o["rope_type"] ?? o["type"])?.GetValue<string>() ?? "default";

    /// <summary>Checks internal consistency (heads divide, layer types match the layer count).</summary>
    /// <exception cref="UnsupportedConfigException">The numbers do not fit together.</exception>
    public void Validate(string source = "config")
    {
        if (NumAttentionHeads % NumKeyValueHeads != 0) throw new UnsupportedConfigException($"{source}: num_attention_heads {NumAttentionHeads} is not a multiple of num_key_value_heads {NumKeyValueHeads}.");
        if (LayerTypes.Count != NumHiddenLayers) throw new UnsupportedConfigException($"{source}: {LayerTypes.Count} layer types for {NumHiddenLayers} layers.");
        if (HeadDim % 2 != 0) throw new UnsupportedConfigException($"{source}: head_dim {HeadDim} must be even for RoPE.");
        if (SlidingWindow <= 0) throw new UnsupportedConfigException($"{source}: sliding_window must be positive.");
    }

    /// <summary>The HF <c>config.json</c> text (transformers 5 layout, readable by transformers 4.5x too).</summary>
    /// <param name="dtype">The weight dtype recorded in the file (<c>bfloat16</c>, <c>float16</c>, <c>float32</c>).</param>
    public string ToJson(string dtype = "bfloat16")
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray("Gemma3ForCausalLM"),
            ["model_type"] = "gemma3_text",
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["head_dim"] = HeadDim,
            ["hidden_activation"] = "gelu_pytorch_tanh",
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["initializer_range"] = InitializerRange,
            ["rms_norm_eps"] = RmsNormEps,
            ["pad_token_id"] = PadTokenId,
            ["bos_token_id"] = BosTokenId,
            ["eos_token_id"] = EosTokenIds.Count == 1 ? JsonValue.Create(EosTokenIds[0]) : new JsonArray(EosTokenIds.Select(e => (JsonNode)JsonValue.Create(e)).ToArray()),
            ["tie_word_embeddings"] = true,
            ["rope_parameters"] = new JsonObject
            {
                ["full_attention"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = RopeThetaGlobal },
                ["sliding_attention"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = RopeThetaLocal },
            },
            // transformers 4.5x reads these two instead of rope_parameters.
            ["rope_theta"] = RopeThetaGlobal,
            ["rope_local_base_freq"] = RopeThetaLocal,
            ["attention_bias"] = false,
            ["attention_dropout"] = 0.0,
            ["query_pre_attn_scalar"] = QueryPreAttnScalar,
            ["sliding_window"] = SlidingWindow,
            ["layer_types"] = new JsonArray(LayerTypes.Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()),
            ["final_logit_softcapping"] = null,
            ["attn_logit_softcapping"] = null,
            ["use_bidirectional_attention"] = false,
            ["use_cache"] = true,
            ["dtype"] = dtype,
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
