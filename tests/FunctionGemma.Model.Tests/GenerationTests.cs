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
    public void Max_new_tokens_bounds_the_output()
    {
        var m = TestModels.Create();
        Assert.Equal(5, GreedyGenerator.Generate(m, [Prompt(3, 41)], new GenerationOptions(5))[0].Length);
    }
}
