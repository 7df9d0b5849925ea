using FunctionGemma.Model;
using static TorchSharp.torch;

namespace FunctionGemma.Trainer.Training;

/// <summary>
/// The relative compute of one micro-batch, used to give every rank the same amount of work: the decoder runs on
/// every padded position (linear layers, plus attention growing with the padded length), the LM head and its
/// cross-entropy only on target tokens (they are selected before the head) — or on every padded position when
/// micro-batches replay CUDA graphs (a graph masks instead of selecting). In FLOPs of forward plus backward.
/// </summary>
/// <param name="PerPaddedToken">Decoder FLOPs per position, 6 × its parameters (plus the LM head's when it runs on every position).</param>
/// <param name="PerPaddedTokenSquared">Attention FLOPs per position per position of the row (12 × layers × heads × head width).</param>
/// <param name="PerTarget">LM head FLOPs per target token, 6 × vocabulary × width (0 when it runs on every position).</param>
/// <param name="PadMultiple">Micro-batches are padded to a multiple of this length...</param>
/// <param name="MaxLength">...but not past this one (max_length: no row is longer).</param>
public sealed record MicroBatchCost(double PerPaddedToken, double PerPaddedTokenSquared, double PerTarget, int PadMultiple, int MaxLength = int.MaxValue)
{
    /// <summary>Padded tokens only (tests, and any model whose shape is unknown).</summary>
    public static MicroBatchCost PaddedTokens { get; } = new(1, 0, 0, 1);

    /// <summary>
    /// The cost model of <paramref name="config"/>, padding to <paramref name="padMultiple"/> up to
    /// <paramref name="maxLength"/>; <paramref name="headOnEveryPosition"/> when the LM head runs on padding too (CUDA graphs).
    /// </summary>
    public static MicroBatchCost For(Gemma3Config config, int padMultiple, int maxLength = int.MaxValue, bool headOnEveryPosition = false)
    {
        double head = 6.0 * config.VocabSize * config.HiddenSize;
        double attentionWidth = (double)config.NumAttentionHeads * config.HeadDim, kvWidth = (double)config.NumKeyValueHeads * config.HeadDim;
        double perLayer = config.HiddenSize * (attentionWidth + 2 * kvWidth) + attentionWidth * config.HiddenSize + 3.0 * config.HiddenSize * config.IntermediateSize;
        double decoder = 6 * perLayer * config.NumHiddenLayers;
        return new MicroBatchCost(headOnEveryPosition ? decoder + head : decoder, 12.0 * config.NumHiddenLayers * attentionWidth,
            headOnEveryPosition ? 0 : head, padMultiple, maxLength);
    }

    /// <summary>
    /// The padded length of a micro-batch whose longest row has <paramref name="longest"/> tokens: rounded up to
    /// <see cref="PadMultiple"/>, capped at <see cref="MaxLength"/> (never below <paramref name="longest"/>).
    /// </summary>
    public int PaddedLength(int longest) => Math.Max(longest, Math.Min(MaxLength, (longest + PadMultiple - 1) / PadMultiple * PadMultiple));

    /// <summary>The padded length of the micro-batch <paramref name="rows"/> of <paramref name="data"/>.</summary>
    public int PaddedLength(IReadOnlyList<TokenizedExample> data, int[] rows) => PaddedLength(rows.Max(i => data[i].Ids.Length));

    /// <summary>The cost of the micro-batch <paramref name="rows"/> of <paramref name="data"/>.</summary>
    public double Of(IReadOnlyList<TokenizedExample> data, int[] rows)
    {
        if (rows.Length == 0) return 0;
        double t = PaddedLength(data, rows);
        return rows.Length * t * (PerPaddedToken + PerPaddedTokenSquared * t) + rows.Sum(i => (double)data[i].Targets) * PerTarget;
    }
}

/// <summary>
/// Which examples each rank trains on at each optimizer step. Epoch e visits the rows in a permutation drawn from
/// <c>seed + e</c> (torch.randperm on a CPU generator, so every rank draws the same one); optimizer step k of an epoch
/// takes the next <c>global batch</c> rows of it. Those rows are sorted by length and cut into micro-batches of
/// <c>per_device_batch</c> neighbours (little padding), and the micro-batches are dealt to the ranks, costliest first,
/// each to the rank with the least work so far that still has room for one (at most <c>grad_accumulation</c> each):
/// ranks meet at the all-reduce at about the same time instead of waiting for whichever drew the long rows.
/// The micro-batches of a full step do not depend on the world size, so one GPU runs exactly the micro-batches two GPUs
/// share (a short last step may cut smaller ones so that every rank gets rows), and the step's loss (summed over the
/// global batch's targets, divided by their count) is the same function.
/// Nothing here depends on wall clock or past state, so a resumed run sees exactly the batches it would have seen.
/// </summary>
public sealed class StepPlan
{
    readonly IReadOnlyList<TokenizedExample> _examples;
    readonly TrainingSettings _settings;
    readonly int _worldSize;
    readonly MicroBatchCost _cost;
    readonly Dictionary<int, int[]> _orders = new();
    (int Step, int[][][] Ranks)? _last;

    /// <summary>A plan over <paramref name="examples"/> for <paramref name="worldSize"/> ranks; <paramref name="cost"/> balances them (default: padded tokens).</summary>
    public StepPlan(IReadOnlyList<TokenizedExample> examples, TrainingSettings settings, int worldSize, MicroBatchCost? cost = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        _examples = examples;
        _settings = settings;
        _worldSize = worldSize;
        _cost = cost ?? MicroBatchCost.PaddedTokens;
        StepsPerEpoch = settings.StepsPerEpoch(examples.Count, worldSize);
    }

    /// <summary>Steps per epoch.</summary>
    public int StepsPerEpoch { get; }

    /// <summary>Row indices, in order, of epoch <paramref name="epoch"/>.</summary>
    public int[] EpochOrder(int epoch)
    {
        if (_orders.TryGetValue(epoch, out var order)) return order;
        var gen = new Generator(_settings.Seed + (ulong)epoch);
        using var perm = randperm(_examples.Count, generator: gen);
        order = perm.data<long>().Select(x => (int)x).ToArray();
        _orders.Clear(); // one epoch at a time
        _orders[epoch] = order;
        return order;
    }

    /// <summary>Every row of optimizer step <paramref name="step"/> (0-based), all ranks.</summary>
    public ArraySegment<int> StepRows(int step)
    {
        int epoch = step / StepsPerEpoch, k = step % StepsPerEpoch;
        var order = EpochOrder(epoch);
        int g = _settings.GlobalBatch(_worldSize);
        int start = Math.Min(order.Length, k * g);
        return new ArraySegment<int>(order, start, Math.Min(g, order.Length - start));
    }

    /// <summary>The micro-batches (row indices) rank <paramref name="rank"/> runs for step <paramref name="step"/>, costliest first; may be empty on a short last step.</summary>
    public IReadOnlyList<int[]> MicroBatches(int step, int rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, _worldSize);
        if (_last is not { } last || last.Step != step) _last = last = (step, Deal(step));
        return last.Ranks[rank];
    }

    /// <summary>The cost of what rank <paramref name="rank"/> runs at step <paramref name="step"/> (in the plan's cost model).</summary>
    public double RankCost(int step, int rank) => MicroBatches(step, rank).Sum(m => _cost.Of(_examples, m));

    int[][][] Deal(int step)
    {
        // Longest first; ties by position in the epoch order, so the result is a function of (seed, epoch, step) alone.
        var rows = StepRows(step).Select((row, position) => (row, position))
            .OrderByDescending(r => _examples[r.row].Ids.Length).ThenBy(r => r.position).Select(r => r.row).ToArray();
        // A short last step of an epoch still gives every rank rows when it has enough: micro-batches shrink to share them.
        int perMicro = Math.Min(_settings.PerDeviceBatch, Math.Max(1, (rows.Length + _worldSize - 1) / _worldSize));
        var micro = rows.Chunk(perMicro).Select(m => (Rows: m, Cost: _cost.Of(_examples, m)))
            .OrderByDescending(m => m.Cost).ToArray(); // a stable sort: equal costs keep their length order
        var ranks = Enumerable.Range(0, _worldSize).Select(_ => new List<(int[] Rows, double Cost)>()).ToArray();
        double Load(int r) => ranks[r].Sum(m => m.Cost);
        // Costliest first, each to the least loaded rank with room (at most grad_accumulation micro-batches a rank)...
        foreach (var m in micro)
        {
            int best = -1;
            for (int r = 0; r < _worldSize; r++)
                if (ranks[r].Count < _settings.GradAccumulation && (best < 0 || Load(r) < Load(best))) best = r;
            ranks[best].Add(m);
        }
        // ...then swaps between the most and the least loaded rank while one narrows their gap (few micro-batches
        // of very different sizes leave the greedy deal a few percent apart).
        for (int round = 0; round < 4 * micro.Length && _worldSize > 1; round++)
        {
            var order = Enumerable.Range(0, _worldSize).OrderBy(Load).ThenBy(r => r).ToArray();
            int lo = order[0], hi = order[^1];
            double gap = Load(hi) - Load(lo), bestGap = gap;
            (int A, int B) swap = (-1, -1);
            for (int a = 0; a < ranks[hi].Count; a++)
                for (int b = 0; b < ranks[lo].Count; b++)
                {
                    double d = ranks[hi][a].Cost - ranks[lo][b].Cost, after = Math.Abs(gap - 2 * d);
                    if (d > 0 && after < bestGap - 1e-9 * gap) (bestGap, swap) = (after, (a, b));
                }
            if (swap.A < 0) break;
            (ranks[hi][swap.A], ranks[lo][swap.B]) = (ranks[lo][swap.B], ranks[hi][swap.A]);
        }
        return ranks.Select(r => r.OrderByDescending(m => m.Cost).Select(m => m.Rows).ToArray()).ToArray();
    }
}
