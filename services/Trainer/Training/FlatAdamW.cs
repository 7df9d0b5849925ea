using FunctionGemma.Model.Distributed;
using static TorchSharp.torch;

namespace FunctionGemma.Trainer.Training;

/// <summary>
/// AdamW (PyTorch's update, decoupled weight decay, bias correction) over fp32 master weights kept in the same flat
/// buckets as the gradients, so one step is a few large tensor operations. Weight decay skips norms and biases, as
/// transformers' Trainer does.
/// </summary>
public sealed class FlatAdamW : IDisposable
{
    readonly FlatLayout _layout;
    readonly bool[] _decays;

    /// <summary>Creates zero moments and master weights copied from <paramref name="initial"/> (one tensor per slot, any dtype/device).</summary>
    public FlatAdamW(FlatLayout layout, IReadOnlyList<Tensor> initial, Device device,
        double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        _layout = layout;
        Beta1 = beta1; Beta2 = beta2; Eps = eps;
        Master = layout.Allocate(ScalarType.Float32, device);
        ExpAvg = layout.Allocate(ScalarType.Float32, device);
        ExpAvgSq = layout.Allocate(ScalarType.Float32, device);
        _decays = layout.Slots.Select(s => !(s.Name.Contains("norm", StringComparison.Ordinal) || s.Name.EndsWith("bias", StringComparison.Ordinal))).ToArray();
        using var _ = no_grad();
        for (int i = 0; i < layout.Slots.Count; i++)
        {
            using var view = layout.View(Master, layout.Slots[i]);
            view.copy_(initial[i]);
        }
    }

    /// <summary>β1.</summary>
    public double Beta1 { get; }
    /// <summary>β2.</summary>
    public double Beta2 { get; }
    /// <summary>ε.</summary>
    public double Eps { get; }
    /// <summary>Updates taken so far.</summary>
    public long Step { get; set; }

    /// <summary>fp32 master weights.</summary>
    public Tensor[] Master { get; }
    /// <summary>First moments.</summary>
    public Tensor[] ExpAvg { get; }
    /// <summary>Second moments.</summary>
    public Tensor[] ExpAvgSq { get; }

    /// <summary>One update of the master weights from <paramref name="grads"/> (same layout).</summary>
    public void Update(Tensor[] grads, double lr, double weightDecay)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        Step++;
        if (weightDecay != 0)
            for (int i = 0; i < _layout.Slots.Count; i++)
                if (_decays[i]) _layout.View(Master, _layout.Slots[i]).mul_(1 - lr * weightDecay);
        double bc1 = 1 - Math.Pow(Beta1, Step), bc2 = 1 - Math.Pow(Beta2, Step);
        double stepSize = lr / bc1, bc2Sqrt = Math.Sqrt(bc2);
        for (int b = 0; b < Master.Length; b++)
        {
            ExpAvg[b].mul_(Beta1).add_(grads[b], alpha: 1 - Beta1);
            ExpAvgSq[b].mul_(Beta2).addcmul_(grads[b], grads[b], value: 1 - Beta2);
            var denom = (ExpAvgSq[b].sqrt() / bc2Sqrt).add_(Eps);
            Master[b].addcdiv_(ExpAvg[b], denom, value: -stepSize);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var t in Master.Concat(ExpAvg).Concat(ExpAvgSq)) t.Dispose();
    }
}
