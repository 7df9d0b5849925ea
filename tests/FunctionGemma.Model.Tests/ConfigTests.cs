using FunctionGemma.Model;

namespace FunctionGemma.Model.Tests;

public class ConfigTests
{
    const string Gemma3_270M_v4 = """
    {"_sliding_window_pattern": 6, "architectures": ["Gemma3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
     "attn_logit_softcapping": null, "bos_token_id": 2, "eos_token_id": 1, "final_logit_softcapping": null, "head_dim": 256,
     "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 640, "initializer_range": 0.02, "intermediate_size": 2048,
     "layer_types": ["sliding_attention","sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention",
                     "sliding_attention","sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention",
                     "sliding_attention","sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention"],
     "max_position_embeddings": 32768, "model_type": "gemma3_text", "num_attention_heads": 4, "num_hidden_layers": 18,
     "num_key_value_heads": 1, "pad_token_id": 0, "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06,
     "rope_local_base_freq": 10000.0, "rope_scaling": null, "rope_theta": 1000000.0, "sliding_window": 512,
     "torch_dtype": "bfloat16", "transformers_version": "4.55.0.dev0", "use_bidirectional_attention": false,
     "use_cache": true, "vocab_size": 262144}
    """;

    [Fact]
    public void Gemma3_270M_config_from_transformers_4_parses_to_the_FunctionGemma_shape()
    {
        var c = Gemma3Config.FromJson(Gemma3_270M_v4);
        var expected = Gemma3Config.FunctionGemma270M();
        Assert.Equal(expected.HiddenSize, c.HiddenSize);
        Assert.Equal(expected.LayerTypes, c.LayerTypes);
        Assert.Equal(1_000_000.0, c.RopeThetaGlobal);
        Assert.Equal(10_000.0, c.RopeThetaLocal);
        Assert.Equal(512, c.SlidingWindow);
        Assert.Equal(256, c.QueryPreAttnScalar);
        Assert.Equal([1], c.EosTokenIds);
        Assert.True(c.IsSliding(0));
        Assert.False(c.IsSliding(5));
    }

    [Fact]
    public void Transformers_5_rope_parameters_are_read_per_layer_type()
    {
        var json = Gemma3Config.FunctionGemma270M().ToJson();
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        node.Remove("rope_theta");
        node.Remove("rope_local_base_freq");
        node["rope_parameters"]!["sliding_attention"]!["rope_theta"] = 12345.0;
        var c = Gemma3Config.FromJson(node.ToJsonString());
        Assert.Equal(12345.0, c.RopeThetaLocal);
        Assert.Equal(1_000_000.0, c.RopeThetaGlobal);
    }

    [Fact]
    public void Written_config_reads_back_equal()
    {
        var c = Gemma3Config.Tiny();
        var back = Gemma3Config.FromJson(c.ToJson("float32"));
        Assert.Equal(c.LayerTypes, back.LayerTypes);
        Assert.Equal(c with { LayerTypes = back.LayerTypes, EosTokenIds = back.EosTokenIds }, back);
    }

    [Theory]
    [InlineData("final_logit_softcapping", "30.0")]
    [InlineData("attn_logit_softcapping", "50.0")]
    [InlineData("hidden_activation", "\"silu\"")]
    [InlineData("rope_scaling", "{\"rope_type\": \"linear\", \"factor\": 8.0}")]
    [InlineData("use_bidirectional_attention", "true")]
    [InlineData("some_new_field", "1")]
    [InlineData("model_type", "\"llama\"")]
    public void Unsupported_fields_fail_with_a_message_naming_them(string name, string value)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(Gemma3_270M_v4)!.AsObject();
        node[name] = System.Text.Json.Nodes.JsonNode.Parse(value);
        var ex = Assert.Throws<UnsupportedConfigException>(() => Gemma3Config.FromJson(node.ToJsonString()));
        Assert.Contains(name == "rope_scaling" ? "rope_scaling" : name, ex.Message);
    }

    [Fact]
    public void Missing_required_field_is_named()
    {
        var json = Gemma3_270M_v4.Replace("\"head_dim\": 256,", "");
        var ex = Assert.Throws<UnsupportedConfigException>(() => Gemma3Config.FromJson(json));
        Assert.Contains("head_dim", ex.Message);
    }
}
