using FunctionGemma.Model;
using static TorchSharp.torch;

namespace FunctionGemma.Model.Tests;

public class WeightsIoTests
{
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void Safetensors_round_trip_keeps_names_shapes_dtypes_and_bytes(ScalarType dtype)
    {
        var dir = TestModels.TempDir();
        var file = Path.Combine(dir, "t.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["a.weight"] = randn(3, 5).to_type(dtype),
            ["b"] = randn(7).to_type(dtype),
            ["empty"] = zeros(0, 4).to_type(dtype),
        };
        Safetensors.Save(file, tensors);
        var back = Safetensors.Load(file);
        Assert.Equal(tensors.Keys.Order(), back.Keys.Order());
        foreach (var (k, t) in tensors)
        {
            Assert.Equal(dtype, back[k].dtype);
            Assert.Equal(t.shape, back[k].shape);
            Assert.Equal(0.0, TestModels.MaxAbsDiff(t, back[k]));
        }
        var (_, _, dataStart) = Safetensors.ReadHeader(file);
        Assert.Equal(0, dataStart % 8);
    }

    [Fact]
    public void Sharded_directory_with_index_loads_like_a_single_file()
    {
        var dir = TestModels.TempDir();
        var tensors = Enumerable.Range(0, 6).ToDictionary(i => $"w{i}", i => randn(64, 64));
        Safetensors.SaveDirectory(dir, tensors, maxShardBytes: 64 * 64 * 4 * 2);
        Assert.True(File.Exists(Path.Combine(dir, "model.safetensors.index.json")));
        Assert.True(Directory.GetFiles(dir, "model-*-of-*.safetensors").Length == 3);
        var back = Safetensors.LoadDirectory(dir);
        foreach (var (k, t) in tensors) Assert.Equal(0.0, TestModels.MaxAbsDiff(t, back[k]));
    }

    [Fact]
    public void Truncated_file_is_reported_as_not_safetensors()
    {
        var file = Path.Combine(TestModels.TempDir(), "bad.safetensors");
        File.WriteAllBytes(file, [255, 255, 255, 255, 0, 0, 0, 0, 1, 2]);
        Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(file));
    }

    [Fact]
    public void Saved_model_directory_loads_back_with_identical_logits_and_HF_files()
    {
        var model = TestModels.Create();
        var dir = TestModels.TempDir();
        var tok = TestModels.TempDir();
        File.WriteAllText(Path.Combine(tok, "tokenizer.json"), "{}");
        HfModelDirectory.Save(model, dir, ScalarType.Float32, tokenizerDir: tok, eosTokenIds: [1, 106, 50]);
        foreach (var f in new[] { "config.json", "generation_config.json", "model.safetensors", "tokenizer.json" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        var keys = Safetensors.ReadHeader(Path.Combine(dir, "model.safetensors")).Entries.Select(e => e.Name).ToHashSet();
        Assert.Contains("model.embed_tokens.weight", keys);
        Assert.Contains("model.layers.0.self_attn.q_proj.weight", keys);
        Assert.Contains("model.layers.2.post_feedforward_layernorm.weight", keys);
        Assert.Contains("model.norm.weight", keys);
        Assert.DoesNotContain("lm_head.weight", keys);

        Assert.Equal([1, 106, 50], HfModelDirectory.GenerationStopIds(dir));
        var loaded = HfModelDirectory.Load(dir);
        var ids = TestModels.RandomIds(2, 9, model.Config.VocabSize, 5);
        using var _ = no_grad();
        Assert.Equal(0.0, TestModels.MaxAbsDiff(model.call(ids), loaded.call(ids)));
    }

    [Fact]
    public void Missing_weight_is_named()
    {
        var model = TestModels.Create();
        var state = HfModelDirectory.StateDict(model, ScalarType.Float32);
        state.Remove("model.layers.1.mlp.up_proj.weight");
        var ex = Assert.Throws<InvalidDataException>(() => HfModelDirectory.LoadWeights(TestModels.Create(), state));
        Assert.Contains("model.layers.1.mlp.up_proj.weight", ex.Message);
    }
}
