using FunctionGemma.Model;
using static TorchSharp.torch;

namespace FunctionGemma.Model.Tests;

/// <summary>Small models shared by the tests: a narrow vocabulary keeps CPU runs quick.</summary>
static class TestModels
{
    public static Gemma3Config Tiny(int layers = 3, int vocab = 512, int window = 4) =>
        Gemma3Config.Tiny(layers, vocab, window);

    public static Gemma3ForCausalLM Create(Gemma3Config? config = null, long seed = 1, ScalarType dtype = ScalarType.Float32) =>
        Gemma3ForCausalLM.Create(config ?? Tiny(), seed, dtype: dtype);

    public static Tensor RandomIds(long b, long t, int vocab, long seed)
    {
        var g = new Generator((ulong)seed);
        return randint(3, vocab, [b, t], ScalarType.Int64, generator: g);
    }

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "fg-model-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    public static double MaxAbsDiff(Tensor a, Tensor b) =>
        a.NumberOfElements == 0 ? 0 : (a.to_type(ScalarType.Float64) - b.to_type(ScalarType.Float64)).abs().max().item<double>();
}
