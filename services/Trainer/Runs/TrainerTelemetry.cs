using System.Diagnostics;
using System.Diagnostics.Metrics;
using FunctionGemma.Protos;

namespace FunctionGemma.Trainer.Runs;

/// <summary>
/// The Trainer's spans (a run, each eval, each checkpoint) and its meter "FunctionGemma.Trainer", fed from the
/// workers' events by the supervisor, so the dashboard graphs loss and throughput live without the workers exporting.
/// </summary>
public static class TrainerTelemetry
{
    /// <summary>Name of the ActivitySource and the Meter.</summary>
    public const string Name = "FunctionGemma.Trainer";

    /// <summary>Spans of the Trainer.</summary>
    public static readonly ActivitySource Source = new(Name);

    static readonly Meter Meter = new(Name);
    static readonly Gauge<double> Loss = Meter.CreateGauge<double>("fg.trainer.loss", description: "Training loss (mean over the logging window)");
    static readonly Gauge<double> EvalLoss = Meter.CreateGauge<double>("fg.trainer.eval.loss", description: "Eval loss");
    static readonly Gauge<double> EvalAccuracy = Meter.CreateGauge<double>("fg.trainer.eval.token_accuracy", description: "Eval mean token accuracy");
    static readonly Gauge<double> Accuracy = Meter.CreateGauge<double>("fg.trainer.token_accuracy", description: "Training mean token accuracy");
    static readonly Gauge<double> LearningRate = Meter.CreateGauge<double>("fg.trainer.learning_rate");
    static readonly Gauge<double> GradNorm = Meter.CreateGauge<double>("fg.trainer.grad_norm");
    static readonly Gauge<double> TokensPerSecond = Meter.CreateGauge<double>("fg.trainer.tokens_per_second", "{token}/s");
    static readonly Gauge<double> Mfu = Meter.CreateGauge<double>("fg.trainer.mfu", description: "Model FLOPs utilization");
    static readonly Gauge<double> GpuMemory = Meter.CreateGauge<double>("fg.trainer.gpu_memory", "GiBy", "GPU memory in use on rank 0's device");
    static readonly Gauge<long> Step = Meter.CreateGauge<long>("fg.trainer.step");
    static readonly Counter<long> Tokens = Meter.CreateCounter<long>("fg.trainer.tokens", "{token}");
    static readonly Histogram<double> CheckpointSeconds = Meter.CreateHistogram<double>("fg.trainer.checkpoint.duration", "s");
    static readonly Counter<long> Runs = Meter.CreateCounter<long>("fg.trainer.runs", description: "Runs ended, by state");

    /// <summary>Records an event's metrics and, for evals and checkpoints, a child span of <paramref name="run"/> covering its duration.</summary>
    public static void Record(TrainEvent e, Activity? run)
    {
        var tag = new KeyValuePair<string, object?>("fg.run.id", e.RunId);
        var end = e.At?.ToDateTimeOffset() ?? DateTimeOffset.UtcNow;
        switch (e.EventCase)
        {
            case TrainEvent.EventOneofCase.Metrics:
                var m = e.Metrics;
                Loss.Record(m.Loss, tag); Accuracy.Record(m.TokenAccuracy, tag); LearningRate.Record(m.LearningRate, tag);
                GradNorm.Record(m.GradNorm, tag); TokensPerSecond.Record(m.TokensPerSecond, tag); Mfu.Record(m.Mfu, tag);
                Step.Record(m.Step, tag); Tokens.Add(m.Tokens, tag); GpuMemory.Record(m.GpuMemoryGib, tag);
                break;
            case TrainEvent.EventOneofCase.Eval:
                EvalLoss.Record(e.Eval.Loss, tag); EvalAccuracy.Record(e.Eval.TokenAccuracy, tag);
                Child("eval", run, end, e.Eval.Seconds, ("fg.step", e.Eval.Step), ("fg.eval.loss", e.Eval.Loss), ("fg.eval.token_accuracy", e.Eval.TokenAccuracy));
                break;
            case TrainEvent.EventOneofCase.Checkpoint:
                CheckpointSeconds.Record(e.Checkpoint.Seconds, tag);
                Child("checkpoint", run, end, e.Checkpoint.Seconds, ("fg.step", e.Checkpoint.Step), ("fg.checkpoint.path", e.Checkpoint.Path));
                break;
        }
    }

    /// <summary>Counts an ended run.</summary>
    public static void Ended(RunInfo run) => Runs.Add(1, new KeyValuePair<string, object?>("fg.run.state", run.State.ToString()));

    static void Child(string name, Activity? parent, DateTimeOffset end, double seconds, params (string Key, object Value)[] tags)
    {
        if (parent is null) return;
        using var a = Source.StartActivity(name, ActivityKind.Internal, parent.Context, startTime: end - TimeSpan.FromSeconds(seconds));
        if (a is null) return;
        foreach (var (k, v) in tags) a.SetTag(k, v);
        a.SetEndTime(end.UtcDateTime);
    }
}
