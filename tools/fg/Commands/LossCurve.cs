using FunctionGemma.Protos;
using Grpc.Core;

namespace FunctionGemma.Cli.Commands;

/// <summary>A training run's loss points, read back from its event stream, drawn with ScottPlot.</summary>
public static class LossCurve
{
    /// <summary>Train and eval loss by optimizer step.</summary>
    public sealed record Points(List<(long Step, double Loss)> Train, List<(long Step, double Loss)> Eval);

    /// <summary>Replays the run's events (WatchRun starts from the beginning) until the run's terminal state.</summary>
    public static async Task<Points> CollectAsync(Trainer.TrainerClient trainer, string runId, CancellationToken ct)
    {
        var points = new Points([], []);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // A finished run replays its history and ends; a live one is cut off after a short look.
        cts.CancelAfter(TimeSpan.FromSeconds(20));
        try
        {
            using var call = trainer.WatchRun(new RunRequest { RunId = runId }, cancellationToken: cts.Token);
            await foreach (var e in call.ResponseStream.ReadAllAsync(cts.Token))
            {
                if (e.Metrics is { } m) points.Train.Add((m.Step, m.Loss));
                else if (e.Eval is { } v) points.Eval.Add((v.Step, v.Loss));
                else if (e.State is { State: JobState.Succeeded or JobState.Failed or JobState.Cancelled }) break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException || e is RpcException { StatusCode: StatusCode.Cancelled or StatusCode.DeadlineExceeded })
        {
        }
        return points;
    }

    /// <summary>Writes a PNG with the train (and eval) loss against the step.</summary>
    public static void Save(Points points, string path, string title)
    {
        var plot = new ScottPlot.Plot();
        var train = plot.Add.Scatter(points.Train.Select(p => (double)p.Step).ToArray(), points.Train.Select(p => p.Loss).ToArray());
        train.LegendText = "train loss";
        if (points.Eval.Count > 0)
        {
            var eval = plot.Add.Scatter(points.Eval.Select(p => (double)p.Step).ToArray(), points.Eval.Select(p => p.Loss).ToArray());
            eval.LegendText = "eval loss";
        }
        plot.Title(title);
        plot.XLabel("optimizer step");
        plot.YLabel("loss");
        plot.ShowLegend();
        plot.SavePng(path, 800, 500);
    }
}
