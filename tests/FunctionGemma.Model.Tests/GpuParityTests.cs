using System.Text.Json;
using FunctionGemma.Model;
using static TorchSharp.torch;

namespace FunctionGemma.Model.Tests;

/// <summary>
/// Parity with Hugging Face transformers on the GPU machine. Fixtures/make_parity.py writes random-weight models and
/// their outputs under $FG_PARITY_DIR (default /tmp/parity); these tests load the same safetensors and compare.
/// Skipped where CUDA or the fixtures are absent (CI).
/// </summary>
[Trait("Category", "Gpu")]
[Collection(GpuCollection.Name)]
public class GpuParityTests
{
    static string Root => Environment.GetEnvironmentVariable("FG_PARITY_DIR") ?? "/tmp/parity";

    static string Require(string name)
    {
        if (!cuda.is_available()) Assert.Skip("CUDA is not available.");
        var dir = Path.Combine(Root, name);
        if (!File.Exists(Path.Combine(dir, "parity.safetensors"))) Assert.Skip($"No parity fixtures at {dir}; run Fixtures/make_parity.py first.");
        return dir;
    }

    static void Report(object o)
    {
        var line = JsonSerializer.Serialize(o);
        Console.WriteLine(line);
        var file = Environment.GetEnvironmentVariable("FG_PARITY_REPORT");
        if (file is not null) File.AppendAllText(file, line + Environment.NewLine);
    }

    [Theory]
    [InlineData("tiny", 1e-4)]
    [InlineData("full", 1e-3)]
    public void Logits_loss_gradients_and_greedy_tokens_match_transformers(string name, double logitTol)
    {
        var dir = Require(name);
        var reference = Safetensors.Load(Path.Combine(dir, "parity.safetensors"));
        var device = CUDA;
        var model = HfModelDirectory.Load(dir, device, ScalarType.Float32);
        var ids = reference["input_ids"].to(device);
        var labels = reference["labels"].to(device);

        double logitDiff;
        using (no_grad())
        {
            var logits = model.call(ids).cpu();
            logitDiff = TestModels.MaxAbsDiff(logits, reference["logits"]);
        }

        var prompts = reference["input_ids"].narrow(1, 0, 8);
        var rows = Enumerable.Range(0, (int)prompts.shape[0])
            .Select(r => (IReadOnlyList<int>)prompts[r].data<long>().Select(x => (int)x).ToArray()).ToList();
        var greedy = GreedyGenerator.Generate(model, rows, new GenerationOptions(32));
        var expectedGreedy = reference["greedy"];
        int mismatched = 0;
        for (int r = 0; r < rows.Count; r++)
            for (int j = 0; j < 32; j++)
                if (j >= greedy[r].Length || greedy[r][j] != expectedGreedy[r, j].item<long>()) mismatched++;

        using var trainer = new SftTrainer(model, new TrainingOptions(MaxGradNorm: 0));
        var ce = trainer.AccumulateGradients(new TrainingBatch(ids, labels));
        double loss = ce.LossSum / ce.Tokens;
        double refLoss = reference["loss"].item<float>();
        double worstGradRel = 0; string worstGrad = "";
        foreach (var (pname, offset, shape) in trainer.Layout)
        {
            var g = trainer.GradientBuffer.narrow(0, offset, shape.Aggregate(1L, (a, b) => a * b)).view(shape) / ce.Tokens;
            var r = reference["grad." + pname];
            if (r.shape[0] != g.shape[0]) g = g.narrow(0, 0, r.shape[0]);
            var rel = ((g.cpu() - r).norm() / (r.norm() + 1e-12)).item<float>();
            if (rel > worstGradRel) { worstGradRel = rel; worstGrad = pname; }
        }
        Report(new { parity = name, device = cuda.is_available() ? "cuda" : "cpu", logits_max_abs_diff = logitDiff, loss_cs = loss, loss_hf = refLoss,
            loss_rel_diff = Math.Abs(loss - refLoss) / refLoss, worst_grad_rel_l2 = worstGradRel, worst_grad = worstGrad, greedy_mismatches = mismatched });

        Assert.True(logitDiff <= logitTol, $"{name}: logits differ by {logitDiff}");
        Assert.True(Math.Abs(loss - refLoss) / refLoss <= 1e-5, $"{name}: loss {loss} vs {refLoss}");
        Assert.True(worstGradRel <= 1e-3, $"{name}: gradient of {worstGrad} differs by {worstGradRel} (relative L2)");
        Assert.Equal(0, mismatched);
    }
}
