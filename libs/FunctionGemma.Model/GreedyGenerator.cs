using static TorchSharp.torch;

namespace FunctionGemma.Model;

/// <summary>Settings of a greedy generation.</summary>
/// <param name="MaxNewTokens">Most tokens generated per row.</param>
/// <param name="StopTokenIds">A row stops after emitting any of these (the stop token is kept in its output).</param>
/// <param name="PadTokenId">Fills prompts on the left and rows that have stopped.</param>
public sealed record GenerationOptions(int MaxNewTokens, IReadOnlyCollection<int>? StopTokenIds = null, int PadTokenId = 0)
{
    /// <summary>How many steps pass between checks whether every row has stopped (each check waits for the device).</summary>
    public int StopCheckInterval { get; init; } = 8;
}

/// <summary>
/// Batched greedy decoding with a preallocated <see cref="KvCache"/>: prompts of different lengths are left-padded,
/// positions count real tokens only, and each row stops on its own.
/// </summary>
public static class GreedyGenerator
{
    /// <summary>
    /// Generates greedily for each prompt. Returns per row the new tokens, up to and including the first stop token,
    /// at most <see cref="GenerationOptions.MaxNewTokens"/>.
    /// </summary>
    public static int[][] Generate(Gemma3ForCausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options)
    {
        if (prompts.Count == 0) return [];
        if (prompts.Any(p => p.Count == 0)) throw new ArgumentException("Every prompt needs at least one token.", nameof(prompts));
        int b = prompts.Count, p = prompts.Max(x => x.Count), n = options.MaxNewTokens;
        if (n <= 0) return prompts.Select(_ => Array.Empty<int>()).ToArray();
        var device = model.Device;
        var ids = new long[b * p];
        var valid = new bool[b * p];
        var pos = new long[b * p];
        for (int r = 0; r < b; r++)
        {
            int pad = p - prompts[r].Count;
            for (int j = 0; j < p; j++)
            {
                bool real = j >= pad;
                ids[r * p + j] = real ? prompts[r][j - pad] : options.PadTokenId;
                valid[r * p + j] = real;
                pos[r * p + j] = real ? j - pad : 0;
            }
        }
        bool anyPad = valid.Any(v => !v);
        var stops = (options.StopTokenIds ?? []).Select(s => (long)s).ToArray();

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var cache = new KvCache(model, b, p + n);
        var inputIds = tensor(ids, [b, p], device: device);
        var keyValid = tensor(valid, [b, p], device: device);
        var positions = tensor(pos, [b, p], device: device);
        var output = full([b, n], options.PadTokenId, ScalarType.Int64, device);
        var finished = zeros([b], ScalarType.Bool, device);
        var stopIds = stops.Length > 0 ? tensor(stops, device: device) : null;
        var padToken = full([b], options.PadTokenId, ScalarType.Int64, device);

        // Prefill the whole prompt, then decode one step at a time.
        var (g, l) = model.AttentionInputsFor(positions, anyPad ? keyValid : null);
        cache.BeginStep(p, anyPad ? keyValid : null);
        var hidden = model.Forward(inputIds, g, l, cache);
        cache.EndStep();
        var last = hidden.narrow(1, p - 1, 1);
        var nextPos = positions.narrow(1, p - 1, 1) + 1;
        int produced = 0;
        for (int step = 0; step < n; step++)
        {
            using var stepScope = NewDisposeScope();
            var next = model.LmHead(last).squeeze(1).argmax(-1);
            next = where(finished, padToken, next);
            output.narrow(1, step, 1).copy_(next.unsqueeze(1));
            produced = step + 1;
            if (stopIds is not null) finished.logical_or_(isin(next, stopIds));
            if (step == n - 1) break;
            if (stopIds is not null && (step + 1) % options.StopCheckInterval == 0 && finished.all().item<bool>()) break;

            var (mg, ml) = cache.BeginStep(1, null);
            var (cg, sg) = model.Rope(nextPos, sliding: false);
            var (cl, sl) = model.Rope(nextPos, sliding: true);
            var h = model.Forward(next.unsqueeze(1), new AttentionInputs(cg, sg, mg, false), new AttentionInputs(cl, sl, ml, false), cache);
            cache.EndStep();
            last.Dispose();
            last = h.MoveToOuterDisposeScope();
            nextPos.add_(1);
        }

        var tokens = output.narrow(1, 0, produced).cpu().data<long>().ToArray();
        var result = new int[b][];
        for (int r = 0; r < b; r++)
        {
            var row = new List<int>();
            for (int j = 0; j < produced; j++)
            {
                int tok = (int)tokens[r * produced + j];
                row.Add(tok);
                if (stops.Contains(tok)) break;
            }
            result[r] = row.ToArray();
        }
        return result;
    }
}
