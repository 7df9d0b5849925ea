using FunctionGemma.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace FunctionGemma.Model.Tests;

public class ModelTests
{
    [Fact]
    public void Parameter_names_are_the_Hugging_Face_names()
    {
        var names = TestModels.Create().named_parameters().Select(p => p.name).ToHashSet();
        string[] perLayer =
        [
            "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight",
            "self_attn.q_norm.weight", "self_attn.k_norm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
            "mlp.down_proj.weight", "input_layernorm.weight", "post_attention_layernorm.weight",
            "pre_feedforward_layernorm.weight", "post_feedforward_layernorm.weight",
        ];
        var expected = new HashSet<string> { "model.embed_tokens.weight", "model.norm.weight" };
        for (int i = 0; i < 3; i++) foreach (var p in perLayer) expected.Add($"model.layers.{i}.{p}");
        Assert.Equal(expected.Order(), names.Order());
    }

    [Fact]
    public void HF_init_has_zero_norms_zero_padding_row_and_the_configured_spread()
    {
        var m = TestModels.Create(TestModels.Tiny(vocab: 4096));
        var p = m.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        Assert.Equal(0.0, p["model.norm.weight"].abs().sum().item<float>());
        Assert.Equal(0.0, p["model.embed_tokens.weight"][0].abs().sum().item<float>());
        Assert.InRange(p["model.embed_tokens.weight"].std().item<float>(), 0.019, 0.021);
        var again = TestModels.Create(TestModels.Tiny(vocab: 4096));
        Assert.Equal(0.0, TestModels.MaxAbsDiff(p["model.layers.1.mlp.up_proj.weight"], again.named_parameters().First(x => x.name == "model.layers.1.mlp.up_proj.weight").parameter));
    }

    [Fact]
    public void Logits_have_batch_time_vocab_shape_and_are_causal()
    {
        var m = TestModels.Create();
        var ids = TestModels.RandomIds(2, 10, 512, 3);
        using var _ = no_grad();
        var full = m.call(ids);
        Assert.Equal([2L, 10L, 512L], full.shape);
        var prefix = m.call(ids.narrow(1, 0, 6));
        Assert.True(TestModels.MaxAbsDiff(full.narrow(1, 0, 6), prefix) < 1e-5);
    }

    [Fact]
    public void Sliding_window_limits_what_sliding_layers_see()
    {
        // With only sliding layers and window 4, token 9's logits ignore tokens 0..5.
        var cfg = TestModels.Tiny(layers: 1, window: 4) with { LayerTypes = [Gemma3Config.SlidingAttention] };
        var m = TestModels.Create(cfg);
        var a = TestModels.RandomIds(1, 10, 512, 1);
        var b = a.clone();
        b[0, 2] = tensor(7L);
        using var _ = no_grad();
        var la = m.call(a); var lb = m.call(b);
        Assert.True(TestModels.MaxAbsDiff(la.narrow(1, 9, 1), lb.narrow(1, 9, 1)) < 1e-6);
        Assert.True(TestModels.MaxAbsDiff(la.narrow(1, 4, 1), lb.narrow(1, 4, 1)) > 1e-4);
    }

    [Fact]
    public void Left_padding_with_a_key_mask_and_shifted_positions_matches_the_unpadded_row()
    {
        var m = TestModels.Create();
        var ids = TestModels.RandomIds(1, 7, 512, 4);
        var padded = cat([zeros([1, 3], ScalarType.Int64), ids], 1);
        var valid = cat([zeros([1, 3], ScalarType.Bool), ones([1, 7], ScalarType.Bool)], 1);
        var pos = cat([zeros([1, 3], ScalarType.Int64), arange(7).unsqueeze(0)], 1);
        using var _ = no_grad();
        var plain = m.LmHead(m.HiddenStates(ids));
        var withPad = m.LmHead(m.HiddenStates(padded, pos, valid)).narrow(1, 3, 7);
        Assert.True(TestModels.MaxAbsDiff(plain, withPad) < 1e-5);
    }
}

public class NormTests
{
    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.BFloat16, 2e-2)]
    public void Fused_rms_norm_equals_the_HF_formula_in_value_and_gradient(ScalarType dtype, double tol)
    {
        var norm = new Gemma3RmsNorm(32, 1e-6);
        using (no_grad()) norm.parameters().First().normal_(0, 0.5);
        var x = (randn(3, 5, 32) * 3).to_type(dtype).requires_grad_(true);
        var fast = norm.call(x);
        var slow = norm.Reference(x);
        Assert.True(TestModels.MaxAbsDiff(fast, slow) < tol * 4);
        using (no_grad())
        {
            norm.to(dtype);
            Assert.True(TestModels.MaxAbsDiff(norm.call(x), slow) < tol * 4); // the inference path folds (1 + w) into the kernel
            norm.to(ScalarType.Float32);
        }
        if (dtype != ScalarType.Float32) return;
        var w = norm.parameters().First();
        fast.square().sum().backward();
        var gx = x.grad!.clone(); var gw = w.grad!.clone();
        x.grad!.zero_(); w.grad!.zero_();
        norm.Reference(x).square().sum().backward();
        Assert.True(TestModels.MaxAbsDiff(gx, x.grad!) < 1e-3);
        Assert.True(TestModels.MaxAbsDiff(gw, w.grad!) < 1e-3);
    }
}
