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

    /// <summary>
    /// Replay one captured CUDA graph per decode step where the device allows it (<see cref="CudaGraphs.UsableOn"/>);
    /// the tokens are the same either way.
    /// </summary>
    public bool UseCudaGraphs { get; init; } = true;
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

        // Decode steps are captured once as a CUDA graph and replayed where the device allows it (see CudaGraphs).
        bool graphs = options.UseCudaGraphs && n > 2 && CudaGraphs.UsableOn(device, out _);
        using var stream = graphs ? new CudaStreamScope() : null;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var cache = new KvCache(model, b, p + n);
        var inputIds = tensor(ids, [b, p], device: device);
        var keyValid = tensor(valid, [b, p], device: device);
        var positions = tensor(pos, [b, p], device: device);
        var state = new DecodeState(b, n, options.PadTokenId, stops, device);

        // Prefill the whole prompt; its last position gives every row's first token.
        var (g, l) = model.AttentionInputsFor(positions, anyPad ? keyValid : null);
        cache.BeginPrefill(p, anyPad ? keyValid : null);
        var hidden = model.Forward(inputIds, g, l, cache);
        cache.EndStep();
        state.Emit(model.LmHead(hidden.narrow(1, p - 1, 1)));
        state.Position.copy_(positions.narrow(1, p - 1, 1) + 1);

        // One decode step reads and writes only tensors that outlive it (the state, the cache), so it can be replayed.
        void DecodeStep()
        {
            using var stepScope = NewDisposeScope();
            var (mg, ml) = cache.BeginDecodeStep();
            var (cg, sg) = model.Rope(state.Position, sliding: false);
            var (cl, sl) = model.Rope(state.Position, sliding: true);
            var h = model.Forward(state.Token.unsqueeze(1), new AttentionInputs(cg, sg, mg, false), new AttentionInputs(cl, sl, ml, false), cache);
            cache.EndStep();
            state.Emit(model.LmHead(h));
            state.Position.add_(1);
        }

        int produced = 1;
        CudaGraph? graph = null;
        try
        {
            for (int column = 1; column < n; column++)
            {
                if (stops.Length > 0 && column % options.StopCheckInterval == 0 && state.Finished.all().item<bool>()) break;
                // The first decode step runs eagerly on the capture stream, so lazy setup (cuBLAS workspaces, fused
                // weights) happens outside the capture; capturing does not run the step, the first replay does.
                if (!graphs || column == 1) DecodeStep();
                else (graph ??= CudaGraph.Capture(DecodeStep)).Replay();
                produced = column + 1;
            }
        }
        finally
        {
            graph?.Dispose();
        }

        var tokens = state.Output.narrow(1, 0, produced).cpu().data<long>().ToArray();
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

/// <summary>
/// What greedy decoding carries from step to step, all on the device: the token each row feeds next, its position,
/// whether it has stopped, and the output so far with the column the next token goes to.
/// </summary>
sealed class DecodeState
{
    public Tensor Token { get; }      // [B] int64
    public Tensor Position { get; }   // [B, 1] int64
    public Tensor Finished { get; }   // [B] bool
    public Tensor Output { get; }     // [B, N] int64
    readonly Tensor column;           // [1] int64
    readonly Tensor padToken;         // [B] int64
    readonly Tensor? stopIds;         // [S] int64

    public DecodeState(long batch, long maxNew, long padTokenId, long[] stops, Device device)
    {
        Token = zeros([batch], ScalarType.Int64, device);
        Position = zeros([batch, 1], ScalarType.Int64, device);
        Finished = zeros([batch], ScalarType.Bool, device);
        Output = full([batch, maxNew], padTokenId, ScalarType.Int64, device);
        column = zeros([1], ScalarType.Int64, device);
        padToken = full([batch], padTokenId, ScalarType.Int64, device);
        stopIds = stops.Length > 0 ? tensor(stops, device: device) : null;
    }

    /// <summary>Takes the argmax of <paramref name="logits"/> <c>[B, 1, vocab]</c> as each row's next token (padding once stopped).</summary>
    public void Emit(Tensor logits)
    {
        using var scope = NewDisposeScope();
        var next = where(Finished, padToken, logits.squeeze(1).argmax(-1));
        Output.index_copy_(1, column, next.unsqueeze(1));
        column.add_(1);
        if (stopIds is not null) Finished.logical_or_(next.unsqueeze(1).eq(stopIds).any(1));
        Token.copy_(next);
    }
}
