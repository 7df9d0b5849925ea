using System.Diagnostics;
using FunctionGemma.Core.Tokenizer;
using FunctionGemma.Model;
using FunctionGemma.Model.Distributed;
using FunctionGemma.Protos;
using Google.Protobuf.WellKnownTypes;
using TorchSharp;
using TorchSharp.Modules;
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
/// The training loop of one rank, nanoGPT-style: for each optimizer step, run this rank's micro-batches
/// (forward, chunked cross-entropy, backward), add their gradients into fp32 buckets, all-reduce the buckets, clip,
/// take an AdamW step on the fp32 master weights and copy them into the (bf16 or fp32) compute model. Rank 0 logs,
/// evaluates and checkpoints. The loss of a step is the summed token loss over the whole global batch divided by its
/// number of target tokens, so any world size gives the same update for the same global batch.
/// </summary>
public sealed class TrainingRun(WorkerArgs args, TrainingSettings settings, ICollectives comm,
    TokenizedExample[] train, TokenizedExample[] eval, ITrainEventSink events, Action<string> log)
{
    /// <summary>Peak dense bf16 FLOP/s of an H100/H200, for MFU (override with FG_PEAK_FLOPS).</summary>
    const double HopperPeakFlops = 989.4e12;

    Device _device = CPU;
    ScalarType _computeType = ScalarType.Float32;
    Gemma3ForCausalLM _model = null!;
    (string Name, Parameter Parameter)[] _params = [];
    GradientBuckets _grads = null!;
    FlatAdamW _opt = null!;
    int _chunkTokens = 256;

    /// <summary>Runs to the last step; returns the path of the final checkpoint (rank 0) or null.</summary>
    public async Task<string?> RunAsync(CancellationToken ct)
    {
        _device = args.Device == "cpu" ? CPU : new Device(DeviceType.CUDA, 0);
        _computeType = settings.Precision switch
        {
            "fp32" => ScalarType.Float32,
            "fp16" => ScalarType.Float16,
            "bf16" => ScalarType.BFloat16,
            _ => _device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32,
        };
        _chunkTokens = _device.type == DeviceType.CUDA ? 2048 : 256;
        _model = HfModelDirectory.Load(args.ModelDir, _device, ScalarType.Float32);
        _model.train();
        _params = _model.named_parameters().Select(p => (p.name, p.parameter)).ToArray();
        _grads = new GradientBuckets(_params, _device);
        _opt = new FlatAdamW(_grads.Layout, _params.Select(p => (Tensor)p.Parameter).ToArray(), _device);
        if (_computeType != ScalarType.Float32) _model.to(_computeType);

        int total = settings.TotalSteps(train.Length, comm.WorldSize);
        int warmup = LrSchedule.WarmupSteps(total, settings.WarmupRatio);
        var plan = new StepPlan(train.Length, settings, comm.WorldSize);
        int step = 0;
        long rowsSeen = 0, tokensSeen = 0;
        if (args.Resume && Checkpoints.Latest(args.Root, args.RunId) is { } latest)
        {
            var state = Checkpoints.ReadState(latest.Path);
            if (state.GlobalBatch != settings.GlobalBatch(comm.WorldSize))
                throw new InvalidOperationException($"Checkpoint {latest.Path} was trained with a global batch of {state.GlobalBatch}; this launch has {settings.GlobalBatch(comm.WorldSize)}. Resume with the same per_device_batch × grad_accumulation × devices.");
            Checkpoints.Restore(latest.Path, _grads.Layout, _opt);
            step = state.GlobalStep;
            rowsSeen = state.Cursor.RowsSeen;
            tokensSeen = state.TokensSeen;
            log($"rank {comm.Rank}: resumed from {latest.Path} at step {step}");
        }
        CopyMasterToModel();

        double peak = double.TryParse(Environment.GetEnvironmentVariable("FG_PEAK_FLOPS"), out var pf) ? pf : _device.type == DeviceType.CUDA ? HopperPeakFlops : 0;
        long paramCount = _grads.Layout.TotalElements;
        using var watchdog = comm.WorldSize > 1 ? new CollectiveWatchdog(comm, TimeSpan.FromMinutes(5), log) : null;
        var window = new Window();
        string? lastCheckpoint = null;
        double lossScale = _computeType == ScalarType.Float16 ? 65536 : 1;
        int goodSteps = 0;
        using var stats = zeros(3, ScalarType.Float64, _device);

        while (step < total)
        {
            ct.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            var rows = plan.StepRows(step);
            long targetTokens = rows.Sum(i => (long)train[i].Targets);
            long inputTokens = rows.Sum(i => (long)train[i].Ids.Length);
            double lossSum = 0; long correct = 0, counted = 0;
            foreach (var micro in plan.MicroBatches(step, comm.Rank))
            {
                var r = MicroBatch(train, micro, lossScale / Math.Max(1, targetTokens), backward: true);
                lossSum += r.LossSum; correct += r.Correct; counted += r.Tokens;
                _grads.Accumulate();
            }
            _grads.AllReduce(comm);
            stats.copy_(tensor(new[] { lossSum, correct, counted }, ScalarType.Float64));
            comm.AllReduceSum(stats);
            var s = stats.data<double>().ToArray();

            double lr = settings.LearningRate * LrSchedule.Factor(settings.LrSchedule, step, total, warmup);
            double gradNorm;
            using (no_grad())
            using (var scope = NewDisposeScope())
            {
                if (lossScale != 1) foreach (var b in _grads.Buckets) b.div_(lossScale);
                var norm = _grads.Norm();
                gradNorm = norm.item<float>();
                bool finite = double.IsFinite(gradNorm);
                if (finite)
                {
                    if (settings.MaxGradNorm > 0)
                    {
                        var coef = (settings.MaxGradNorm / (norm + 1e-6)).clamp_max(1.0);
                        foreach (var b in _grads.Buckets) b.mul_(coef);
                    }
                    _opt.Update(_grads.Buckets, lr, settings.WeightDecay);
                    CopyMasterToModel();
                }
                // fp16: dynamic loss scaling (halve on overflow and skip the update, double after 2000 clean steps).
                if (lossScale != 1)
                {
                    if (!finite) { lossScale /= 2; goodSteps = 0; log($"fp16 overflow at step {step + 1}: loss scale → {lossScale}"); }
                    else if (++goodSteps % 2000 == 0) lossScale *= 2;
                }
                _grads.Zero();
            }
            step++;
            rowsSeen += rows.Count;
            tokensSeen += inputTokens;
            watchdog?.Beat();
            window.Add(s[0] / Math.Max(1, s[2]), s[1], s[2], inputTokens, sw.Elapsed.TotalSeconds);

            bool last = step == total;
            if (comm.Rank == 0 && (step % settings.LogEvery == 0 || last))
            {
                double tps = window.Tokens / Math.Max(1e-9, window.Seconds);
                await events.PublishAsync(new TrainEvent
                {
                    Metrics = new TrainMetrics
                    {
                        Step = step, Loss = window.MeanLoss, TokenAccuracy = window.Accuracy, LearningRate = lr,
                        GradNorm = gradNorm, TokensPerSecond = tps, Mfu = peak > 0 ? 6.0 * paramCount * tps / (peak * comm.WorldSize) : 0,
                        GpuMemoryGib = 0, Epoch = (double)step / plan.StepsPerEpoch, Tokens = window.Tokens, Seconds = window.Seconds,
                    },
                }, ct);
                window = new Window();
            }
            if (eval.Length > 0 && (step % settings.EvalEvery == 0 || last)) await EvaluateAsync(step, ct);
            bool checkpoint = last || (settings.CheckpointEvery > 0 && step % settings.CheckpointEvery == 0);
            if (checkpoint && comm.Rank == 0)
            {
                var csw = Stopwatch.StartNew();
                var state = new TrainerState(step, step, total, _opt.Step, settings.Seed, comm.WorldSize, settings.GlobalBatch(comm.WorldSize),
                    new DataCursor(step / plan.StepsPerEpoch, step % plan.StepsPerEpoch, rowsSeen), RngState(), tokensSeen);
                lastCheckpoint = Checkpoints.Save(args.Root, args.RunId, _model.Config, _grads.Layout, _opt, state, TokenizerDir(), args.ModelDir);
                await events.PublishAsync(new TrainEvent { Checkpoint = new CheckpointSaved { Step = step, Path = lastCheckpoint, Seconds = csw.Elapsed.TotalSeconds } }, ct);
            }
            watchdog?.Beat();
        }
        return lastCheckpoint;
    }

    string? TokenizerDir() =>
        File.Exists(Path.Combine(args.ModelDir, "tokenizer.json")) ? args.ModelDir : null;

    // The CPU generator's state; the loop itself draws no random numbers (shuffles come from seed + epoch).
    static string RngState()
    {
        using var state = torch.random.get_rng_state();
        return Convert.ToBase64String(state.bytes.ToArray());
    }

    void CopyMasterToModel()
    {
        using var _ = no_grad();
        for (int i = 0; i < _params.Length; i++)
        {
            using var view = _grads.Layout.View(_opt.Master, _grads.Layout.Slots[i]);
            _params[i].Parameter.copy_(view);
        }
    }

    async Task EvaluateAsync(int step, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        double lossSum = 0; long correct = 0, tokens = 0;
        var mine = Enumerable.Range(0, eval.Length).Where(i => i % comm.WorldSize == comm.Rank).ToArray();
        _model.eval();
        foreach (var batch in mine.Chunk(settings.PerDeviceBatch))
        {
            var r = MicroBatch(eval, batch, 0, backward: false);
            lossSum += r.LossSum; correct += r.Correct; tokens += r.Tokens;
        }
        _model.train();
        using var stats = tensor(new[] { lossSum, correct, tokens }, ScalarType.Float64).to(_device);
        comm.AllReduceSum(stats);
        var s = stats.data<double>().ToArray();
        if (comm.Rank == 0)
            await events.PublishAsync(new TrainEvent
            {
                Eval = new EvalMetrics { Step = step, Loss = s[0] / Math.Max(1, s[2]), TokenAccuracy = s[1] / Math.Max(1, s[2]), Seconds = sw.Elapsed.TotalSeconds, Tokens = (long)s[2] },
            }, ct);
    }

    CrossEntropyResult MicroBatch(TokenizedExample[] data, int[] rows, double gradScale, bool backward)
    {
        using var scope = NewDisposeScope();
        int b = rows.Length, t = rows.Max(i => data[i].Ids.Length);
        var ids = new long[b * t];
        var positions = new List<long>();
        var targets = new List<long>();
        for (int r = 0; r < b; r++)
        {
            var ex = data[rows[r]];
            for (int j = 0; j < ex.Ids.Length; j++) ids[r * t + j] = ex.Ids[j];
            // Position j predicts token j+1; targets start at TargetStart (≥ 1).
            for (int j = Math.Max(1, ex.TargetStart); j < ex.Ids.Length; j++)
            {
                positions.Add(r * t + j - 1);
                targets.Add(ex.Ids[j]);
            }
        }
        var input = tensor(ids, [b, t]).to(_device);
        var index = tensor(positions.ToArray()).to(_device);
        var target = tensor(targets.ToArray()).to(_device);
        if (!backward)
        {
            using var _ = no_grad();
            var h = _model.HiddenStates(input);
            var sel = h.view(b * t, -1).index_select(0, index);
            return ChunkedCrossEntropy.Compute(sel, _model.Model.EmbedWeight, target, _chunkTokens);
        }
        var hidden = _model.HiddenStates(input);
        var selected = hidden.view(b * t, -1).index_select(0, index);
        var grad = zeros_like(selected);
        var result = ChunkedCrossEntropy.Compute(selected, _model.Model.EmbedWeight, target, _chunkTokens, grad, gradScale);
        selected.backward([grad]);
        return result;
    }

    sealed class Window
    {
        double _lossSum; int _steps; double _correct, _counted;
        public long Tokens { get; private set; }
        public double Seconds { get; private set; }
        public double MeanLoss => _lossSum / Math.Max(1, _steps);
        public double Accuracy => _correct / Math.Max(1, _counted);
        public void Add(double loss, double correct, double counted, long tokens, double seconds)
        {
            _lossSum += loss; _steps++; _correct += correct; _counted += counted; Tokens += tokens; Seconds += seconds;
        }
    }
}
