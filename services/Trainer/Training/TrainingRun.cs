using System.Diagnostics;
using FunctionGemma.Core.Tokenizer;
using FunctionGemma.Model;
using FunctionGemma.Model.Distributed;
using FunctionGemma.Protos;
using Google.Protobuf.WellKnownTypes;
using TorchSharp;
using static TorchSharp.torch;

namespace FunctionGemma.Trainer.Training;

/// <summary>What one worker process was started with.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Rank">This process's rank.</param>
/// <param name="WorldSize">Number of processes.</param>
/// <param name="Device">"cpu" or "cuda" (the one GPU CUDA_VISIBLE_DEVICES leaves visible).</param>
/// <param name="ModelDir">The base model's Hugging Face directory.</param>
/// <param name="Root">Checkpoint root.</param>
/// <param name="Resume">Continue from the run's latest checkpoint.</param>
public sealed record WorkerArgs(string RunId, int Rank, int WorldSize, string Device, string ModelDir, string Root, bool Resume);

/// <summary>Where a worker reports to: rank 0's events, in order.</summary>
public interface ITrainEventSink
{
    /// <summary>Appends one event.</summary>
    Task PublishAsync(TrainEvent e, CancellationToken ct);
}

/// <summary>
/// The training loop of one rank, nanoGPT-style: for each optimizer step, hand this rank's micro-batches to the Model
/// library's <see cref="SftTrainer"/> (forward, chunked cross-entropy, backward into an fp32 gradient buffer, the
/// bucketed NCCL all-reduce hook, clipping, AdamW on fp32 masters, copy into the bf16/fp16/fp32 model; loss scaling for fp16), with the learning
/// rate from the schedule. Rank 0 logs, evaluates and checkpoints. The loss of a step is the summed token loss over
/// the whole global batch divided by its number of target tokens, so any world size gives the same update.
/// </summary>
public sealed class TrainingRun(WorkerArgs args, TrainingSettings settings, ICollectives comm,
    TokenizedExample[] train, TokenizedExample[] eval, ITrainEventSink events, Action<string> log)
{
    /// <summary>Peak dense bf16 FLOP/s of an H100/H200, for MFU (override with FG_PEAK_FLOPS).</summary>
    const double HopperPeakFlops = 989.4e12;

    /// <summary>On GPUs, micro-batch lengths are rounded up to a multiple of this, so the set of shapes stays small and kernel choices are cached after a few steps.</summary>
    const int CudaPadMultiple = 64;

    /// <summary>
    /// With CUDA graphs, micro-batch lengths are rounded up to a multiple of this (capped at max_length): a graph replays
    /// only for the (rows, length) shape it was captured at, so 132–512-token rows must fall into about a dozen shapes,
    /// not one per micro-batch. Kernels are chosen once per capture, so the eager 64 buys nothing here; 32 halves its padding.
    /// </summary>
    public const int CudaGraphPadMultiple = 32;

    Device _device = CPU;
    SftTrainer _trainer = null!;
    MicroBatchCost _cost = MicroBatchCost.PaddedTokens;

    /// <summary>Runs to the last step; returns the path of the final checkpoint (rank 0) or null.</summary>
    public async Task<string?> RunAsync(CancellationToken ct)
    {
        _device = args.Device == "cpu" ? CPU : new Device(DeviceType.CUDA, 0);
        var computeType = settings.Precision switch
        {
            "fp32" => ScalarType.Float32,
            "bf16" => ScalarType.BFloat16,
            "fp16" => ScalarType.Float16, // for GPUs without bf16 (T4, V100): dynamic loss scaling below
            _ => _device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32,
        };
        var model = HfModelDirectory.Load(args.ModelDir, _device, computeType);
        RequireVocabulary(model.Config.VocabSize, args.ModelDir);
        model.train();
        var graphs = CudaGraphsFor(settings, _device, computeType);
        // Timing the all-reduce hook costs two waits on an idle stream per step; it is what tells compute from waiting.
        var allReduceTiming = new AllReduceTiming();
        _trainer = new SftTrainer(model,
            new TrainingOptions(LearningRate: settings.LearningRate, WeightDecay: settings.WeightDecay, MaxGradNorm: settings.MaxGradNorm,
                ActivationCheckpointing: settings.GradientCheckpointing, LossChunkTokens: _device.type == DeviceType.CUDA ? 2048 : 256,
                LossScaling: computeType == ScalarType.Float16 ? new LossScaling() : null, CudaGraphs: graphs.On),
            BucketedAllReduce.For(comm, timing: allReduceTiming));

        int total = settings.TotalSteps(train.Length, comm.WorldSize);
        int warmup = LrSchedule.WarmupSteps(total, settings.WarmupRatio);
        _cost = CostFor(model.Config, settings, _device, _trainer.UsesCudaGraphs);
        log(graphs.On ? $"cuda graphs: on (micro-batch lengths padded to multiples of {CudaGraphPadMultiple}, at most {settings.MaxLength})" : $"cuda graphs: off ({graphs.Why})");
        var plan = new StepPlan(train, settings, comm.WorldSize, _cost);
        PrepareCudaGraphs(plan, comm.Rank, total);
        int step = 0;
        long rowsSeen = 0, tokensSeen = 0;
        if (args.Resume && Checkpoints.Latest(args.Root, args.RunId) is { } latest)
        {
            var state = Checkpoints.ReadState(latest.Path);
            if (state.GlobalBatch != settings.GlobalBatch(comm.WorldSize))
                throw new InvalidOperationException($"Checkpoint {latest.Path} was trained with a global batch of {state.GlobalBatch}; this launch has {settings.GlobalBatch(comm.WorldSize)}. Resume with the same per_device_batch × grad_accumulation × devices.");
            Checkpoints.Restore(latest.Path, _trainer);
            if (state.RngState.Length > 0) RandomState.Restore(Convert.FromBase64String(state.RngState));
            step = state.GlobalStep;
            rowsSeen = state.Cursor.RowsSeen;
            tokensSeen = state.TokensSeen;
            log($"rank {comm.Rank}: resumed from {latest.Path} at step {step}");
        }

        double peak = double.TryParse(Environment.GetEnvironmentVariable("FG_PEAK_FLOPS"), out var pf) ? pf : _device.type == DeviceType.CUDA ? HopperPeakFlops : 0;
        long paramCount = model.parameters().Sum(p => p.NumberOfElements);
        using var watchdog = comm.WorldSize > 1 ? new CollectiveWatchdog(comm, TimeSpan.FromMinutes(5), log) : null;
        var window = new Window();
        var profile = new StepProfile(comm.Rank, comm.WorldSize, skipSteps: total - step > 20 ? 10 : 0);
        var profileWindow = new StepProfile(comm.Rank, comm.WorldSize);
        string? lastCheckpoint = null;

        while (step < total)
        {
            ct.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            long started = Stopwatch.GetTimestamp();
            var rows = plan.StepRows(step);
            long inputTokens = rows.Sum(i => (long)train[i].Ids.Length);
            // A step that loss scaling skipped does not advance the schedule (as accelerate's scheduler does); the data does.
            double lr = settings.LearningRate * LrSchedule.Factor(settings.LrSchedule, step - (int)_trainer.SkippedSteps, total, warmup);
            _trainer.LearningRate = lr;
            var micro = plan.MicroBatches(step, comm.Rank);
            var lengths = micro.Select(m => _cost.PaddedLength(train, m)).ToArray();
            var batches = micro.Select((m, k) => Batch(train, m, lengths[k], _device)).ToList();
            long prepared = Stopwatch.GetTimestamp();
            StepResult result;
            try { result = _trainer.Step(batches); }
            finally { foreach (var b in batches) b.Dispose(); }
            long stepped = Stopwatch.GetTimestamp();
            var timed = new StepTimes(
                Host: Seconds(started, prepared),
                Compute: Seconds(prepared, allReduceTiming.Entered),
                Wait: allReduceTiming.WaitSeconds,
                AllReduce: allReduceTiming.TransferSeconds,
                Optimizer: Seconds(allReduceTiming.Left, stepped),
                WorkShare: plan.RankCost(step, comm.Rank) / Math.Max(1e-9, Enumerable.Range(0, comm.WorldSize).Sum(r => plan.RankCost(step, r))),
                Tokens: micro.Sum(m => m.Sum(i => (long)train[i].Ids.Length)),
                PaddedTokens: micro.Select((m, k) => (long)m.Length * lengths[k]).Sum());
            step++;
            rowsSeen += rows.Count;
            tokensSeen += inputTokens;
            watchdog?.Beat();
            window.Add(result, inputTokens, sw.Elapsed.TotalSeconds);
            if (result.Skipped && comm.Rank == 0)
                log($"step {step}: gradient overflowed at loss scale {result.LossScale}; update skipped, scale now {_trainer.LossScale}");

            bool last = step == total;
            if (comm.Rank == 0 && (step % settings.LogEvery == 0 || last))
            {
                double tps = window.Tokens / Math.Max(1e-9, window.Seconds);
                await events.PublishAsync(new TrainEvent
                {
                    Metrics = new TrainMetrics
                    {
                        Step = step, Loss = window.MeanLoss, TokenAccuracy = window.Accuracy, LearningRate = lr,
                        GradNorm = result.GradNorm, TokensPerSecond = tps, Mfu = peak > 0 ? 6.0 * paramCount * tps / (peak * comm.WorldSize) : 0,
                        Epoch = (double)step / plan.StepsPerEpoch, Tokens = window.Tokens, Seconds = window.Seconds,
                        GpuMemoryGib = _device.type == DeviceType.CUDA ? GpuMemory.UsedGib(PhysicalGpu()) : 0,
                        LossScale = _trainer.Options.LossScaling is null ? 0 : _trainer.LossScale, SkippedSteps = _trainer.SkippedSteps,
                    },
                }, ct);
                window = new Window();
            }
            if (eval.Length > 0 && (step % settings.EvalEvery == 0 || last)) await EvaluateAsync(step, ct);
            bool checkpoint = last || (settings.CheckpointEvery > 0 && step % settings.CheckpointEvery == 0);
            // With the optimizer sharded over ranks, each holds only its slice of the state: a collective gathers it first.
            if (checkpoint) _trainer.GatherState();
            if (checkpoint && comm.Rank == 0)
            {
                var csw = Stopwatch.StartNew();
                var state = new TrainerState(step, step - (int)_trainer.SkippedSteps, total, _trainer.StepCount, settings.Seed, comm.WorldSize, settings.GlobalBatch(comm.WorldSize),
                    new DataCursor(step / plan.StepsPerEpoch, step % plan.StepsPerEpoch, rowsSeen), Convert.ToBase64String(RandomState.Capture()), tokensSeen);
                lastCheckpoint = Checkpoints.Save(args.Root, args.RunId, _trainer, state, TokenizerDir());
                await events.PublishAsync(new TrainEvent { Checkpoint = new CheckpointSaved { Step = step, Path = lastCheckpoint, Seconds = csw.Elapsed.TotalSeconds } }, ct);
            }
            watchdog?.Beat();
            // Rank 0's logging, evaluation and checkpoints happen here, outside the measured step, while the others wait at the next all-reduce.
            var times = timed with { BetweenSteps = Seconds(stepped, Stopwatch.GetTimestamp()) };
            profile.Add(times);
            profileWindow.Add(times);
            if (step % settings.LogEvery == 0 || last)
            {
                log(profileWindow.Line($"steps {step - profileWindow.Steps + 1}-{step}"));
                profileWindow = new StepProfile(comm.Rank, comm.WorldSize);
            }
        }
        if (profile.Steps > 0) log(profile.Line("run summary"));
        return lastCheckpoint;
    }

    static double Seconds(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalSeconds;

    // The supervisor makes one GPU visible per worker; NVML counts physical GPUs.
    static int PhysicalGpu() =>
        int.TryParse(Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES")?.Split(',')[0], out var i) ? i : 0;

    string? TokenizerDir() =>
        File.Exists(Path.Combine(args.ModelDir, "tokenizer.json")) ? args.ModelDir : null;

    /// <summary>
    /// Whether this worker's micro-batches replay CUDA graphs: unless the spec turns them off, on CUDA where the Model
    /// library can capture them, and not with fp16 (its loss scale would be frozen into the graph). Why not, when not.
    /// </summary>
    // Every micro-batch shape this rank will meet is known from the plan: capturing them all before the first step
    // keeps captures (an eager run each) out of the measured steps, where they would show as stalls.
    void PrepareCudaGraphs(StepPlan plan, int rank, int total)
    {
        if (!_trainer.UsesCudaGraphs) return;
        var sw = Stopwatch.StartNew();
        var shapes = Enumerable.Range(0, total).SelectMany(s => plan.MicroBatches(s, rank))
            .Select(m => (Rows: m.Length, Length: _cost.PaddedLength(train, m))).Distinct().ToList();
        foreach (var (rows, length) in shapes) _trainer.PrepareCudaGraph(rows, length);
        log($"cuda graphs: {shapes.Count} micro-batch shapes captured in {sw.Elapsed.TotalSeconds:0.0} s");
    }

    // A token id the model has no row for would fail deep in a kernel (or, in the fused cross-entropy, read past a row):
    // say which input is wrong before the first step.
    void RequireVocabulary(int vocabSize, string modelDir)
    {
        int max = train.Concat(eval).SelectMany(e => e.Ids).DefaultIfEmpty(0).Max();
        if (max >= vocabSize)
            throw new InvalidDataException($"The tokenized rows use token id {max}, but the model in '{modelDir}' has vocab_size {vocabSize}. " +
                "Train with the tokenizer that belongs to the model (tokenizer.json in the model directory), or a model whose vocabulary covers it.");
    }

    internal static (bool On, string Why) CudaGraphsFor(TrainingSettings settings, Device device, ScalarType computeType)
    {
        if (device.type != DeviceType.CUDA) return (false, "cpu");
        if (!settings.CudaGraphs) return (false, "cuda_graphs: false in the spec");
        if (computeType == ScalarType.Float16) return (false, "fp16 loss scaling");
        return CudaGraphs.UsableOn(device, out var why) ? (true, "") : (false, why ?? "not usable on this device");
    }

    /// <summary>
    /// How micro-batches are padded (and costed for the deal to ranks): with CUDA graphs to multiples of
    /// <see cref="CudaGraphPadMultiple"/>, the LM head then running on every position; eagerly on a GPU to multiples of
    /// <see cref="CudaPadMultiple"/>; on the CPU to the longest row. Never past max_length.
    /// </summary>
    internal static MicroBatchCost CostFor(Gemma3Config config, TrainingSettings settings, Device device, bool cudaGraphs) =>
        cudaGraphs
            ? MicroBatchCost.For(config, CudaGraphPadMultiple, settings.MaxLength, headOnEveryPosition: true)
            : MicroBatchCost.For(config, device.type == DeviceType.CUDA ? CudaPadMultiple : 1, settings.MaxLength);

    /// <summary>
    /// The micro-batch <paramref name="rows"/> of <paramref name="data"/>, right-padded to <paramref name="length"/> with
    /// the pad id, in Hugging Face's label convention: labels equal to the ids from the first target on, -100 before it
    /// and on padding. Padding is never a target, and causal attention keeps it out of real tokens, so any
    /// <paramref name="length"/> from the longest row on gives the same loss and gradients.
    /// </summary>
    internal static TrainingBatch Batch(IReadOnlyList<TokenizedExample> data, int[] rows, int length, Device device)
    {
        int b = rows.Length, t = length;
        var ids = new long[b * t];
        var labels = new long[b * t];
        Array.Fill(ids, FunctionGemmaTokens.Pad);
        Array.Fill(labels, TrainingBatch.IgnoreIndex);
        for (int r = 0; r < b; r++)
        {
            var ex = data[rows[r]];
            if (ex.Ids.Length > t) throw new ArgumentOutOfRangeException(nameof(length), $"Micro-batch length {t} is shorter than row {rows[r]} ({ex.Ids.Length} tokens).");
            for (int j = 0; j < ex.Ids.Length; j++)
            {
                ids[r * t + j] = ex.Ids[j];
                if (j >= Math.Max(1, ex.TargetStart)) labels[r * t + j] = ex.Ids[j];
            }
        }
        return new TrainingBatch(tensor(ids, [b, t]).to(device), tensor(labels, [b, t]).to(device));
    }

    async Task EvaluateAsync(int step, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        double lossSum = 0; long correct = 0, tokens = 0;
        var mine = Enumerable.Range(0, eval.Length).Where(i => i % comm.WorldSize == comm.Rank).ToArray();
        var model = _trainer.Model;
        model.eval();
        foreach (var rows in mine.Chunk(settings.PerDeviceBatch))
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            using var batch = Batch(eval, rows, _cost.PaddedLength(eval, rows), _device);
            long b = batch.InputIds.shape[0], t = batch.InputIds.shape[1];
            var targets = cat([batch.Labels.narrow(1, 1, t - 1), full([b, 1], TrainingBatch.IgnoreIndex, ScalarType.Int64, _device)], 1).reshape(-1);
            var idx = targets.ne(TrainingBatch.IgnoreIndex).nonzero().squeeze(1);
            var hidden = model.HiddenStates(batch.InputIds).reshape(b * t, -1).index_select(0, idx);
            var r = ChunkedCrossEntropy.Compute(hidden, model.Model.EmbedWeight, targets.index_select(0, idx), _trainer.Options.LossChunkTokens);
            lossSum += r.LossSum; correct += r.Correct; tokens += r.Tokens;
        }
        model.train();
        using var stats = tensor(new[] { lossSum, correct, tokens }, ScalarType.Float64).to(_device);
        comm.AllReduceSum(stats);
        var s = stats.cpu().data<double>().ToArray();
        if (comm.Rank == 0)
            await events.PublishAsync(new TrainEvent
            {
                Eval = new EvalMetrics { Step = step, Loss = s[0] / Math.Max(1, s[2]), TokenAccuracy = s[1] / Math.Max(1, s[2]), Seconds = sw.Elapsed.TotalSeconds, Tokens = (long)s[2] },
            }, ct);
    }

    sealed class Window
    {
        double _lossSum, _correct, _counted; int _steps;
        public long Tokens { get; private set; }
        public double Seconds { get; private set; }
        public double MeanLoss => _lossSum / Math.Max(1, _steps);
        public double Accuracy => _correct / Math.Max(1, _counted);
        public void Add(StepResult r, long tokens, double seconds)
        {
            _lossSum += r.Loss; _steps++; _correct += r.TokenAccuracy * r.Tokens; _counted += r.Tokens; Tokens += tokens; Seconds += seconds;
        }
    }
}
