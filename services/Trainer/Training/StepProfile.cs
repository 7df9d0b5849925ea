using System.Globalization;

namespace FunctionGemma.Trainer.Training;

/// <summary>Where one optimizer step's time went on one rank, in seconds, and what it computed.</summary>
/// <param name="Host">Building the micro-batches and copying them to the device.</param>
/// <param name="Compute">Forward and backward of every micro-batch, up to the all-reduce.</param>
/// <param name="Wait">Waiting in the all-reduce for the slowest rank (the statistics all-reduce, a barrier).</param>
/// <param name="AllReduce">All-reducing the gradient buffer.</param>
/// <param name="Optimizer">Clipping, AdamW on the fp32 masters and the copy into the model (every rank, in full).</param>
/// <param name="WorkShare">This rank's part of the step's planned work (1 / world size when balanced).</param>
/// <param name="Tokens">Real tokens this rank ran.</param>
/// <param name="PaddedTokens">Tokens this rank ran, padding included.</param>
/// <param name="BetweenSteps">After the step: metrics, evaluation, checkpoints (rank 0; the others wait for it at the next all-reduce).</param>
public readonly record struct StepTimes(double Host, double Compute, double Wait, double AllReduce, double Optimizer,
    double WorkShare, long Tokens, long PaddedTokens, double BetweenSteps = 0)
{
    /// <summary>The whole step, between-step work included.</summary>
    public double Total => Host + Compute + Wait + AllReduce + Optimizer + BetweenSteps;
}

/// <summary>
/// Sums <see cref="StepTimes"/> over steps and writes them as one worker-log line of mean milliseconds per step, so a
/// run's logs show, per rank, whether time goes to compute, to waiting for another rank, to the all-reduce or to work
/// that does not shrink with more devices (host, optimizer, between steps).
/// </summary>
public sealed class StepProfile(int rank, int worldSize, int skipSteps = 0)
{
    StepTimes _sum;
    int _seen;

    /// <summary>Steps summed (after the skipped warm-up steps).</summary>
    public int Steps { get; private set; }

    /// <summary>Adds one step; the first <c>skipSteps</c> are left out (allocator and kernel warm-up).</summary>
    public void Add(StepTimes t)
    {
        if (_seen++ < skipSteps) return;
        Steps++;
        _sum = new StepTimes(_sum.Host + t.Host, _sum.Compute + t.Compute, _sum.Wait + t.Wait, _sum.AllReduce + t.AllReduce,
            _sum.Optimizer + t.Optimizer, _sum.WorkShare + t.WorkShare, _sum.Tokens + t.Tokens, _sum.PaddedTokens + t.PaddedTokens,
            _sum.BetweenSteps + t.BetweenSteps);
    }

    /// <summary>The mean step, e.g. <c>profile rank 1/2 steps 11-60: step 231.0 ms = host 0.4 + compute 205.1 + wait 9.1 + ...</c>.</summary>
    public string Line(string label)
    {
        double n = Math.Max(1, Steps);
        string Ms(double seconds) => (seconds / n * 1e3).ToString("0.0", CultureInfo.InvariantCulture);
        string Pct(double x) => (100 * x).ToString("0.0", CultureInfo.InvariantCulture);
        return $"profile rank {rank}/{worldSize} {label} ({Steps} steps): step {Ms(_sum.Total)} ms = host {Ms(_sum.Host)} + compute {Ms(_sum.Compute)} + " +
            $"wait {Ms(_sum.Wait)} + all-reduce {Ms(_sum.AllReduce)} + optimizer {Ms(_sum.Optimizer)} + between steps {Ms(_sum.BetweenSteps)}; " +
            $"work share {Pct(_sum.WorkShare / n)}%, {(_sum.Tokens / n).ToString("0", CultureInfo.InvariantCulture)} tokens/step, " +
            $"padding {Pct(1 - (double)_sum.Tokens / Math.Max(1, _sum.PaddedTokens))}%";
    }
}
