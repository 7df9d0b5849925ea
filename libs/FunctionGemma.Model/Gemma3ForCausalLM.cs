using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

#pragma warning disable IDE1006 // field names are the Hugging Face module names, so safetensors keys map one to one

namespace FunctionGemma.Model;

/// <summary>
/// Gemma 3 RMSNorm: <c>x / sqrt(mean(x²) + eps) * (1 + weight)</c>, computed in fp32 and cast back to the input dtype.
/// </summary>
public sealed class Gemma3RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly double eps;
    readonly FusedWeight affine = new();

    /// <summary>Creates a norm over the last dimension of size <paramref name="dim"/>, weight zero (identity).</summary>
    public Gemma3RmsNorm(long dim, double eps) : base(nameof(Gemma3RmsNorm))
    {
        this.eps = eps;
        weight = new Parameter(zeros(dim));
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long d = x.shape[^1];
        // [x, -x] has mean 0 and variance mean(x²), so LayerNorm over it is RMSNorm: one fused kernel with fp32
        // statistics instead of eight elementwise passes (and far less saved for the backward).
        var signs = Signs(x.dtype, x.device);
        var pair = (x.unsqueeze(-2) * signs).flatten(-2);
        if (!is_grad_enabled() && weight.dtype == x.dtype)
        {
            // Inference: the (1 + w) scale rides inside the LayerNorm kernel (kept until the weights change).
            var scale = affine.Get([weight, weight], w => (w + 1.0).to_type(x.dtype));
            return F.layer_norm(pair, [2 * d], scale, null, eps).narrow(-1, 0, d).MoveToOuterDisposeScope();
        }
        var normed = F.layer_norm(pair, [2 * d], eps: eps).narrow(-1, 0, d);
        return (normed * (weight + 1.0).to_type(x.dtype)).MoveToOuterDisposeScope();
    }

    static readonly Dictionary<string, Tensor> signCache = new();

    static Tensor Signs(ScalarType dtype, Device device)
    {
        var key = $"{dtype}/{device}";
        lock (signCache)
        {
            if (!signCache.TryGetValue(key, out var t))
            {
                t = tensor(new float[] { 1, -1 }).view(2, 1).to_type(dtype).to(device).DetachFromDisposeScope();
                signCache[key] = t;
            }
            return t;
        }
    }

    /// <summary>The reference formula (HF's): fp32 <c>x * rsqrt(mean(x²) + eps) * (1 + w)</c>, cast back. For tests.</summary>
    public Tensor Reference(Tensor x)
    {
        using var scope = NewDisposeScope();
        var xf = x.to_type(ScalarType.Float32);
        var normed = xf * (xf.square().mean([-1L], keepdim: true) + eps).rsqrt();
        return (normed * (weight.to_type(ScalarType.Float32) + 1.0)).to_type(x.dtype).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Weights of several projections concatenated along the output dimension, so one matmul serves them. With
/// gradients on it is rebuilt every call (the concatenation's backward hands each weight its slice); without, it is
/// kept until a source weight is replaced or <see cref="Gemma3ForCausalLM.WeightsChanged"/> is called.
/// </summary>
public sealed class FusedWeight
{
    Tensor? cached;
    IntPtr[] handles = [];
    long version = -1;

    /// <summary>Bumped whenever weights change in place (optimizer steps, loads), so kept concatenations are rebuilt.</summary>
    internal static long GlobalVersion;

    /// <summary>
    /// Set on a thread while it captures a training graph: the concatenation is then built inside the graph even
    /// without gradients (a recomputing forward), since a kept one would freeze the weights of the capture into every
    /// replay, and the next rebuild would free what the graph reads.
    /// </summary>
    [ThreadStatic] internal static bool Uncached;

    /// <summary>
    /// The concatenation of <paramref name="weights"/> along dimension 0, each first passed through
    /// <paramref name="transform"/> when given.
    /// </summary>
    public Tensor Get(Tensor[] weights, Func<Tensor, Tensor>? transform = null)
    {
        Tensor Build() => cat(transform is null ? weights : weights.Select(transform).ToArray(), 0);
        if (is_grad_enabled() || Uncached) return Build();
        var hs = weights.Select(w => w.Handle).ToArray();
        long v = Interlocked.Read(ref GlobalVersion);
        if (cached is null || v != version || !hs.SequenceEqual(handles) || cached.dtype != weights[0].dtype)
        {
            cached?.Dispose();
            using (var buildScope = NewDisposeScope()) cached = Build().MoveToOuterDisposeScope();
            cached = cached.DetachFromDisposeScope();
            handles = hs; version = v;
        }
        return cached.alias();
    }
}

/// <summary>Gemma 3's gated MLP: <c>down(gelu_tanh(gate(x)) * up(x))</c>.</summary>
public sealed class Gemma3Mlp : nn.Module<Tensor, Tensor>
{
    readonly Linear gate_proj, up_proj, down_proj;

    /// <summary>Creates the three projections without bias.</summary>
    public Gemma3Mlp(Gemma3Config c) : base(nameof(Gemma3Mlp))
    {
        gate_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        up_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        down_proj = nn.Linear(c.IntermediateSize, c.HiddenSize, hasBias: false);
        gateUp = new FusedWeight();
        RegisterComponents();
    }

    readonly FusedWeight gateUp;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // One matmul for gate and up (their weights concatenated), then the halves.
        long i = gate_proj.weight.shape[0];
        var gu = F.linear(x, gateUp.Get([gate_proj.weight, up_proj.weight]));
        var h = F.gelu(gu.narrow(-1, 0, i), GELU.Approximate.tanh) * gu.narrow(-1, i, i);
        return down_proj.call(h).MoveToOuterDisposeScope();
    }
}

/// <summary>Rotary tables and the attention mask one layer type (sliding or global) sees in a forward pass.</summary>
/// <param name="Cos">Cosines, <c>[B, 1, T, head_dim]</c>, in the compute dtype.</param>
/// <param name="SinSigned">Sines with the first half negated, same shape: RoPE is then x*cos + roll(x, D/2)*SinSigned.</param>
/// <param name="Mask">Boolean <c>[B, 1, T, S]</c>, true where a query may attend; null with <paramref name="IsCausal"/>.</param>
/// <param name="IsCausal">Plain causal attention over the given keys (lets SDPA pick flash attention).</param>
public sealed record AttentionInputs(Tensor Cos, Tensor SinSigned, Tensor? Mask, bool IsCausal);

/// <summary>Gemma 3 attention: q/k/v projections, per-head q/k RMSNorm, RoPE, grouped-query SDPA, output projection.</summary>
public sealed class Gemma3Attention : nn.Module
{
    readonly Linear q_proj, k_proj, v_proj, o_proj;
    readonly Gemma3RmsNorm q_norm, k_norm;
    readonly int heads, kvHeads, headDim;
    readonly double queryScale;

    /// <summary>Index of the layer, which selects its KV-cache slot.</summary>
    public int LayerIndex { get; }

    /// <summary>Creates the attention block of layer <paramref name="layer"/>.</summary>
    public Gemma3Attention(Gemma3Config c, int layer) : base(nameof(Gemma3Attention))
    {
        LayerIndex = layer;
        heads = c.NumAttentionHeads; kvHeads = c.NumKeyValueHeads; headDim = c.HeadDim;
        // SDPA scales by 1/sqrt(head_dim); Gemma scales by 1/sqrt(query_pre_attn_scalar): fold the ratio into q.
        queryScale = Math.Sqrt(headDim) / Math.Sqrt(c.QueryPreAttnScalar);
        q_proj = nn.Linear(c.HiddenSize, heads * headDim, hasBias: false);
        k_proj = nn.Linear(c.HiddenSize, kvHeads * headDim, hasBias: false);
        v_proj = nn.Linear(c.HiddenSize, kvHeads * headDim, hasBias: false);
        o_proj = nn.Linear(heads * headDim, c.HiddenSize, hasBias: false);
        q_norm = new Gemma3RmsNorm(headDim, c.RmsNormEps);
        k_norm = new Gemma3RmsNorm(headDim, c.RmsNormEps);
        RegisterComponents();
    }

    readonly FusedWeight qkv = new();

    /// <summary>Attention over <paramref name="x"/> <c>[B, T, hidden]</c>; with a cache, keys/values are stored and read there.</summary>
    public Tensor Forward(Tensor x, AttentionInputs a, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        long qd = heads * headDim, kd = kvHeads * headDim;
        var all = F.linear(x, qkv.Get([q_proj.weight, k_proj.weight, v_proj.weight]));
        var q = q_norm.call(all.narrow(-1, 0, qd).view(b, t, heads, headDim)).transpose(1, 2);
        var k = k_norm.call(all.narrow(-1, qd, kd).view(b, t, kvHeads, headDim)).transpose(1, 2);
        var v = all.narrow(-1, qd + kd, kd).view(b, t, kvHeads, headDim).transpose(1, 2);
        // RoPE: x*cos + rotate_half(x)*sin, with rotate_half(x)*sin = roll(x, D/2) * [-sin_lo, sin_hi].
        q = torch.addcmul(q * a.Cos, q.roll(headDim / 2, -1), a.SinSigned, 1);
        k = torch.addcmul(k * a.Cos, k.roll(headDim / 2, -1), a.SinSigned, 1);
        if (queryScale != 1.0) q = q * queryScale;
        if (cache is not null) (k, v) = cache.Append(LayerIndex, k, v);

        int rep = heads / kvHeads;
        Tensor o;
        if (t == 1 && rep > 1)
        {
            // One query per row: the query heads of a KV group become that group's queries, so K/V are not repeated.
            var qg = q.reshape(b, kvHeads, rep, headDim);
            o = F.scaled_dot_product_attention(qg, k, v, a.Mask).reshape(b, heads, 1, headDim);
        }
        else
        {
            if (rep > 1)
            {
                long s = k.shape[2];
                k = k.unsqueeze(2).expand(b, kvHeads, rep, s, headDim).reshape(b, heads, s, headDim);
                v = v.unsqueeze(2).expand(b, kvHeads, rep, s, headDim).reshape(b, heads, s, headDim);
            }
            o = F.scaled_dot_product_attention(q, k, v, a.Mask, is_casual: a.IsCausal && a.Mask is null);
        }
        var y = o_proj.call(o.transpose(1, 2).reshape(b, t, heads * headDim));
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary>One Gemma 3 decoder block: sandwich norms around attention and around the MLP.</summary>
public sealed class Gemma3DecoderLayer : nn.Module
{
    readonly Gemma3Attention self_attn;
    readonly Gemma3Mlp mlp;
    readonly Gemma3RmsNorm input_layernorm, post_attention_layernorm, pre_feedforward_layernorm, post_feedforward_layernorm;

    /// <summary>Whether this layer attends through the sliding window.</summary>
    public bool IsSliding { get; }

    /// <summary>Creates layer <paramref name="layer"/> of config <paramref name="c"/>.</summary>
    public Gemma3DecoderLayer(Gemma3Config c, int layer) : base(nameof(Gemma3DecoderLayer))
    {
        IsSliding = c.IsSliding(layer);
        self_attn = new Gemma3Attention(c, layer);
        mlp = new Gemma3Mlp(c);
        input_layernorm = new Gemma3RmsNorm(c.HiddenSize, c.RmsNormEps);
        post_attention_layernorm = new Gemma3RmsNorm(c.HiddenSize, c.RmsNormEps);
        pre_feedforward_layernorm = new Gemma3RmsNorm(c.HiddenSize, c.RmsNormEps);
        post_feedforward_layernorm = new Gemma3RmsNorm(c.HiddenSize, c.RmsNormEps);
        RegisterComponents();
    }

    /// <summary>Runs the block on <paramref name="x"/> <c>[B, T, hidden]</c>.</summary>
    public Tensor Forward(Tensor x, AttentionInputs a, KvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        var h = x + post_attention_layernorm.call(self_attn.Forward(input_layernorm.call(x), a, cache));
        var y = h + post_feedforward_layernorm.call(mlp.call(pre_feedforward_layernorm.call(h)));
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary>The Gemma 3 decoder stack (HF <c>Gemma3TextModel</c>): scaled embeddings, layers, final norm.</summary>
public sealed class Gemma3TextModel : nn.Module
{
    readonly Embedding embed_tokens;
    readonly ModuleList<Gemma3DecoderLayer> layers;
    readonly Gemma3RmsNorm norm;
    readonly Gemma3DecoderLayer[] layerArray;

    /// <summary>Creates the stack for <paramref name="c"/>.</summary>
    public Gemma3TextModel(Gemma3Config c) : base(nameof(Gemma3TextModel))
    {
        embed_tokens = nn.Embedding(c.VocabSize, c.HiddenSize, padding_idx: c.PadTokenId);
        layerArray = Enumerable.Range(0, c.NumHiddenLayers).Select(i => new Gemma3DecoderLayer(c, i)).ToArray();
        layers = new ModuleList<Gemma3DecoderLayer>(layerArray);
        norm = new Gemma3RmsNorm(c.HiddenSize, c.RmsNormEps);
        RegisterComponents();
    }

    /// <summary>The embedding matrix <c>[vocab, hidden]</c>, also the LM head.</summary>
    public Parameter EmbedWeight => embed_tokens.weight!;
    /// <summary>The decoder layers.</summary>
    public IReadOnlyList<Gemma3DecoderLayer> Layers => layerArray;
    /// <summary>The final norm.</summary>
    public Gemma3RmsNorm Norm => norm;
    /// <summary>The embedding lookup (unscaled).</summary>
    public Embedding EmbedTokens => embed_tokens;
}

/// <summary>
/// Gemma 3 causal language model (HF <c>Gemma3ForCausalLM</c>), with the LM head tied to the embeddings.
/// Parameter names equal the Hugging Face ones (<c>model.layers.0.self_attn.q_proj.weight</c>, ...).
/// </summary>
public sealed class Gemma3ForCausalLM : nn.Module<Tensor, Tensor>
{
    readonly Gemma3TextModel model;
    readonly float[] invFreqGlobal, invFreqLocal;

    /// <summary>The architecture.</summary>
    public Gemma3Config Config { get; }

    /// <summary>Builds the modules with uninitialized (PyTorch default) weights; see <see cref="Create"/> for a seeded HF init.</summary>
    public Gemma3ForCausalLM(Gemma3Config config) : base(nameof(Gemma3ForCausalLM))
    {
        config.Validate();
        Config = config;
        model = new Gemma3TextModel(config);
        invFreqGlobal = InverseFrequencies(config.RopeThetaGlobal, config.HeadDim);
        invFreqLocal = InverseFrequencies(config.RopeThetaLocal, config.HeadDim);
        RegisterComponents();
    }

    /// <summary>The decoder stack.</summary>
    public Gemma3TextModel Model => model;

    /// <summary>Tells inference caches that parameters changed in place (the trainer calls it after each step).</summary>
    public static void WeightsChanged() => Interlocked.Increment(ref FusedWeight.GlobalVersion);

    /// <summary>Device of the parameters.</summary>
    public Device Device => model.EmbedWeight.device;

    /// <summary>Dtype of the parameters, which is the compute dtype.</summary>
    public ScalarType DType => model.EmbedWeight.dtype;

    /// <summary>
    /// A model with HF's initialization (linear and embedding weights ~ N(0, initializer_range), the padding row
    /// zero, norm weights zero), drawn from a generator seeded with <paramref name="seed"/> on the CPU, then moved.
    /// </summary>
    public static Gemma3ForCausalLM Create(Gemma3Config config, long seed, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        var m = new Gemma3ForCausalLM(config);
        var gen = new Generator((ulong)seed);
        using (no_grad())
        {
            foreach (var (name, p) in m.named_parameters())
            {
                if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.zero_();
                else p.normal_(0, config.InitializerRange, gen);
            }
            m.model.EmbedWeight[config.PadTokenId].zero_();
        }
        m.to(dtype);
        if (device is not null) m.to(device);
        return m;
    }

    readonly Dictionary<string, Tensor> constants = new();

    // Small per-device constants, built once, so decoding steps do no host-to-device copies.
    Tensor Constant(string name, Device device, Func<Tensor> make)
    {
        var key = $"{name}/{device}/{DType}";
        if (!constants.TryGetValue(key, out var t))
        {
            var made = make();
            t = made.to(device).DetachFromDisposeScope();
            if (!ReferenceEquals(t, made)) made.Dispose();
            constants[key] = t;
        }
        return t;
    }

    static float[] InverseFrequencies(double theta, int dim)
    {
        // Same float32 arithmetic as HF's default RoPE: 1 / theta^(2i/dim).
        using var exps = arange(0, dim, 2, ScalarType.Int64).to_type(ScalarType.Float32) / dim;
        using var baseT = full_like(exps, theta);
        using var inv = baseT.pow(exps).reciprocal();
        return inv.data<float>().ToArray();
    }

    /// <summary>
    /// Cos and signed-sin tables <c>[B, 1, T, head_dim]</c> for positions <c>[B, T]</c>, computed in fp32 and cast to
    /// the compute dtype; the sines' first half is negated (see <see cref="AttentionInputs"/>).
    /// </summary>
    public (Tensor Cos, Tensor SinSigned) Rope(Tensor positions, bool sliding)
    {
        using var scope = NewDisposeScope();
        var inv = Constant(sliding ? "invLocal" : "invGlobal", positions.device, () => tensor(sliding ? invFreqLocal : invFreqGlobal));
        var freqs = (positions.to_type(ScalarType.Float32).unsqueeze(-1) * inv).unsqueeze(1);
        var c = freqs.cos();
        var sn = freqs.sin();
        var cos = cat([c, c], -1).to_type(DType);
        var sin = cat([-sn, sn], -1).to_type(DType);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>Scaled input embeddings: <c>embed(ids) * sqrt(hidden)</c>, the scale rounded to the weight dtype as HF does.</summary>
    public Tensor Embed(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var scale = Constant("embedScale", Device, () => tensor((float)Math.Sqrt(Config.HiddenSize)).to_type(DType));
        return (model.EmbedTokens.call(inputIds) * scale).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Attention inputs of both layer types for a forward over <c>[B, T]</c> tokens at <paramref name="positions"/>.
    /// <paramref name="keyValid"/> (<c>[B, T]</c> bool, false at padding) is needed only when padding precedes real
    /// tokens; right padding needs none, since causal queries never see later keys.
    /// </summary>
    public (AttentionInputs Global, AttentionInputs Local) AttentionInputsFor(Tensor positions, Tensor? keyValid = null)
    {
        using var scope = NewDisposeScope();
        long t = positions.shape[1];
        var (cg, sg) = Rope(positions, sliding: false);
        var (cl, sl) = Rope(positions, sliding: true);
        Tensor? maskG = null, maskL = null;
        bool windowBites = t > Config.SlidingWindow;
        if (keyValid is not null || windowBites)
        {
            var i = arange(t, device: positions.device).unsqueeze(1);
            var j = arange(t, device: positions.device).unsqueeze(0);
            var causal = j <= i;
            var eye = i == j; // a padded query keeps itself, so no softmax row is empty
            var valid = keyValid is null ? null : keyValid.unsqueeze(1).unsqueeze(1);
            var local = causal & ((i - j) < Config.SlidingWindow);
            if (valid is not null)
            {
                maskG = ((causal.unsqueeze(0).unsqueeze(0) & valid) | eye).MoveToOuterDisposeScope();
                maskL = ((local.unsqueeze(0).unsqueeze(0) & valid) | eye).MoveToOuterDisposeScope();
            }
            else
            {
                maskL = local.unsqueeze(0).unsqueeze(0).MoveToOuterDisposeScope();
            }
        }
        foreach (var x in new[] { cg, sg, cl, sl }) x.MoveToOuterDisposeScope();
        return (new AttentionInputs(cg, sg, maskG, maskG is null), new AttentionInputs(cl, sl, maskL, maskL is null));
    }

    /// <summary>Final hidden states (after the last norm), <c>[B, T, hidden]</c>.</summary>
    public Tensor HiddenStates(Tensor inputIds, Tensor? positions = null, Tensor? keyValid = null)
    {
        using var scope = NewDisposeScope();
        positions ??= DefaultPositions(inputIds);
        var (g, l) = AttentionInputsFor(positions, keyValid);
        return Forward(inputIds, g, l, null).MoveToOuterDisposeScope();
    }

    /// <summary>Embedding, every layer (reading and filling <paramref name="cache"/> when given) and the final norm.</summary>
    public Tensor Forward(Tensor inputIds, AttentionInputs global, AttentionInputs local, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var h = Embed(inputIds);
        foreach (var layer in model.Layers) h = layer.Forward(h, layer.IsSliding ? local : global, cache);
        return model.Norm.call(h).MoveToOuterDisposeScope();
    }

    /// <summary>Positions 0..T-1 for every row.</summary>
    public static Tensor DefaultPositions(Tensor inputIds) =>
        arange(inputIds.shape[1], device: inputIds.device).unsqueeze(0).expand(inputIds.shape[0], -1);

    /// <summary>Logits <c>[..., vocab]</c> of hidden states, through the tied embedding matrix.</summary>
    public Tensor LmHead(Tensor hidden) => F.linear(hidden, model.EmbedWeight);

    /// <summary>Logits <c>[B, T, vocab]</c> in the compute dtype for token ids <c>[B, T]</c>, positions 0..T-1, no padding before tokens.</summary>
    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return LmHead(HiddenStates(inputIds)).MoveToOuterDisposeScope();
    }
}
