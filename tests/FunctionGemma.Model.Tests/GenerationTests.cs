using FunctionGemma.Model;
using static TorchSharp.torch;

namespace FunctionGemma.Model.Tests;

public class GenerationTests
{
    static int[] Recompute(Gemma3ForCausalLM m, IReadOnlyList<int> prompt, int n, IReadOnlyCollection<int>? stops = null)
    {
        var seq = prompt.ToList();
        var output = new List<int>();
        using var _ = no_grad();
        for (int i = 0; i < n; i++)
        {
            using var scope = NewDisposeScope();
            var ids = tensor(seq.Select(x => (long)x).ToArray(), [1, seq.Count]);
            var logits = m.call(ids);
            int next = (int)logits[0, -1].argmax().item<long>();
            output.Add(next); seq.Add(next);
            if (stops is not null && stops.Contains(next)) break;
        }
        return output.ToArray();
    }

    static int[] Prompt(int len, int seed) => TestModels.RandomIds(1, len, 512, seed).data<long>().Select(x => (int)x).ToArray();

    [Fact]
    public void KV_cache_decode_equals_full_recompute_across_the_sliding_window()
    {
        // Window 4 and 20 new tokens: the sliding ring wraps several times.
        var m = TestModels.Create();
        var prompt = Prompt(6, 11);
        var cached = GreedyGenerator.Generate(m, [prompt], new GenerationOptions(20))[0];
        Assert.Equal(Recompute(m, prompt, 20), cached);
    }

    [Fact]
    public void Prompt_longer_than_the_window_prefills_the_ring_correctly()
    {
        var m = TestModels.Create();
        var prompt = Prompt(11, 12);
        Assert.Equal(Recompute(m, prompt, 8), GreedyGenerator.Generate(m, [prompt], new GenerationOptions(8))[0]);
    }

    [Fact]
    public void Left_padded_batch_gives_each_row_its_unbatched_tokens()
    {
        var m = TestModels.Create();
        int[][] prompts = [Prompt(3, 21), Prompt(9, 22), Prompt(6, 23)];
        var batched = GreedyGenerator.Generate(m, prompts, new GenerationOptions(12));
        for (int r = 0; r < prompts.Length; r++)
            Assert.Equal(Recompute(m, prompts[r], 12), batched[r]);
    }

    [Fact]
    public void Rows_stop_at_their_own_stop_token_and_keep_it()
    {
        var m = TestModels.Create();
        int[][] prompts = [Prompt(4, 31), Prompt(5, 32)];
        var free = GreedyGenerator.Generate(m, prompts, new GenerationOptions(10));
        int stop = free[0][2]; // the third token of row 0 becomes a stop id
        var stopped = GreedyGenerator.Generate(m, prompts, new GenerationOptions(10, [stop]) { StopCheckInterval = 1 });
        Assert.Equal(free[0].Take(Array.IndexOf(free[0], stop) + 1), stopped[0]);
        int idx1 = Array.IndexOf(free[1], stop);
        Assert.Equal(idx1 < 0 ? free[1] : free[1].Take(idx1 + 1), stopped[1]);
    }

    [Fact]
    public void A_one_token_prompt_decodes_like_full_recompute()
    {
        var m = TestModels.Create();
        var prompt = Prompt(1, 51);
        Assert.Equal(Recompute(m, prompt, 9), GreedyGenerator.Generate(m, [prompt], new GenerationOptions(9))[0]);
    }

    [Fact]
    public void Max_new_tokens_bounds_the_output()
    {
        var m = TestModels.Create();
        Assert.Equal(5, GreedyGenerator.Generate(m, [Prompt(3, 41)], new GenerationOptions(5))[0].Length);
    }
}

/// <summary>Decoding through a captured CUDA graph on the GPU machine; skipped where CUDA is absent (CI).</summary>
[Trait("Category", "Gpu")]
[Collection(GpuCollection.Name)]
public class GpuGraphDecodeTests
{
    static int[] Prompt(int len, int seed) => TestModels.RandomIds(1, len, 512, seed).data<long>().Select(x => (int)x).ToArray();

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void Replayed_graph_decode_gives_the_eager_tokens_with_padding_stops_and_a_wrapping_window(ScalarType dtype)
    {
        if (!cuda.is_available()) Assert.Skip("CUDA is not available.");
        Assert.True(CudaGraphs.Available, $"CUDA graphs should bind on this libtorch: {CudaGraphs.Unavailable}");
        var m = Gemma3ForCausalLM.Create(TestModels.Tiny(layers: 4, window: 4), seed: 3, device: CUDA, dtype: dtype);
        int[][] prompts = [Prompt(3, 61), Prompt(9, 62), Prompt(1, 63), Prompt(6, 64)];
        var eagerFree = GreedyGenerator.Generate(m, prompts, new GenerationOptions(24) { UseCudaGraphs = false });
        var graphFree = GreedyGenerator.Generate(m, prompts, new GenerationOptions(24));
        Assert.Equal(eagerFree, graphFree);

        // A stop id taken from row 1's free run: that row ends early, the others run on, padding after they stop.
        int stop = eagerFree[1][5];
        var options = new GenerationOptions(24, [stop]) { StopCheckInterval = 4 };
        var eager = GreedyGenerator.Generate(m, prompts, options with { UseCudaGraphs = false });
        var graph = GreedyGenerator.Generate(m, prompts, options);
        Assert.Equal(eager, graph);
        Assert.Equal(stop, graph[1][^1]);

        // The thread is back on its own stream: ordinary work after a graph decode sees finished results.
        using var ids = TestModels.RandomIds(2, 5, 512, 65).to(CUDA);
        using (no_grad()) Assert.Equal(new long[] { 2, 5, 512 }, m.call(ids).shape);
    }
}
