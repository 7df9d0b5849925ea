using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Prompt;
using FunctionGemma.Core.Tokenizer;
using FunctionGemma.Protos;
using FunctionGemma.Trainer.Runs;
using FunctionGemma.Trainer.Training;
using System.Text.Json.Nodes;

namespace FunctionGemma.Trainer.Tests;

public sealed class TrainingPlanTests
{
    static readonly Lazy<GemmaTokenizer> Tokenizer = new(() => GemmaTokenizer.LoadFunctionGemma());

    static ReferenceExample Example() => ReferencePrompt.For(new FunctionGemma.Core.Hermes.CleanRow("Water quality at Zuma Beach?", "get_water_quality", "{\"location\": \"Zuma Beach\"}",
        JsonNode.Parse("""[{"type":"function","function":{"name":"get_water_quality","description":"Retrieve water quality","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}]""")!.AsArray()));

    [Fact]
    public void Text_rows_tokenize_as_TRL_does_with_the_template_bos_and_the_tokenizer_bos_and_an_appended_eos()
    {
        var ex = TrlTokenization.Tokenize(Tokenizer.Value, Example(), LossOn.FullText, 512);
        Assert.Equal([FunctionGemmaTokens.Bos, FunctionGemmaTokens.Bos, FunctionGemmaTokens.StartOfTurn], ex.Ids[..3]);
        Assert.Equal(FunctionGemmaTokens.Eos, ex.Ids[^1]);
        Assert.Equal(FunctionGemmaTokens.EndFunctionCall, ex.Ids[^2]);
        Assert.Equal(0, ex.TargetStart);
        Assert.Equal(ex.Ids.Length - 1, ex.Targets);
    }

    [Fact]
    public void Completion_only_loss_masks_the_prompt_tokens()
    {
        var full = TrlTokenization.Tokenize(Tokenizer.Value, Example(), LossOn.FullText, 512);
        var completion = TrlTokenization.Tokenize(Tokenizer.Value, Example(), LossOn.CompletionOnly, 512);
        Assert.Equal(full.Ids, completion.Ids);
        Assert.Equal(FunctionGemmaTokens.StartFunctionCall, completion.Ids[completion.TargetStart]);
        Assert.Equal(completion.Ids.Length - completion.TargetStart, completion.Targets);
    }

    [Fact]
    public void Truncation_keeps_the_first_max_length_tokens()
    {
        var ex = TrlTokenization.Tokenize(Tokenizer.Value, Example(), LossOn.CompletionOnly, 16);
        Assert.Equal(16, ex.Ids.Length);
        Assert.Equal(16, ex.TargetStart);
        Assert.Equal(0, ex.Targets);
    }

    [Fact]
    public void Defaults_are_the_reference_recipe()
    {
        var s = TrainingSettings.From(new TrainSpec());
        Assert.Equal((512, 1, 2, 8, 5e-5, "cosine", 0.03, 10, 10, 10, LossOn.FullText), (s.MaxLength, s.Epochs, s.PerDeviceBatch, s.GradAccumulation, s.LearningRate, s.LrSchedule, s.WarmupRatio, s.LogEvery, s.EvalEvery, s.CheckpointEvery, s.LossOn));
        Assert.Equal(16, s.GlobalBatch(1));
        Assert.Equal(61, s.TotalSteps(961, 1)); // the reference: 961 rows, 16 a step, the last one short
        Assert.Contains("loss_on", Assert.Throws<ArgumentException>(() => TrainingSettings.From(new TrainSpec { LossOn = "prompt" })).Message);
    }

    [Fact]
    public void Cosine_schedule_warms_up_linearly_from_zero_and_decays_to_zero()
    {
        int total = 61, warmup = LrSchedule.WarmupSteps(total, 0.03);
        Assert.Equal(2, warmup);
        Assert.Equal(0.0, LrSchedule.Factor("cosine", 0, total, warmup));
        Assert.Equal(0.5, LrSchedule.Factor("cosine", 1, total, warmup));
        Assert.Equal(1.0, LrSchedule.Factor("cosine", 2, total, warmup));
        Assert.Equal(0.5, LrSchedule.Factor("cosine", 4, 6, 2), 12); // halfway through the decay
        Assert.True(LrSchedule.Factor("cosine", 60, total, warmup) < 0.001);
    }

    [Theory]
    [InlineData(130, 2, 8, 1, 2, 4)]
    [InlineData(37, 1, 3, 1, 3, 1)]
    public void Ranks_split_each_global_batch_exactly_as_one_rank_would_run_it(int rows, int batch, int accum, int world1, int worldN, int accumN)
    {
        var one = TrainingSettings.From(new TrainSpec { PerDeviceBatch = batch, GradAccumulation = accum, Epochs = 2 });
        var many = TrainingSettings.From(new TrainSpec { PerDeviceBatch = batch, GradAccumulation = accumN, Epochs = 2 });
        Assert.Equal(one.GlobalBatch(world1), many.GlobalBatch(worldN));
        var p1 = new StepPlan(rows, one, world1);
        var pn = new StepPlan(rows, many, worldN);
        var seen = new List<int>();
        for (int step = 0; step < one.TotalSteps(rows, world1); step++)
        {
            var single = p1.MicroBatches(step, 0).SelectMany(m => m).ToArray();
            var split = Enumerable.Range(0, worldN).SelectMany(r => pn.MicroBatches(step, r).SelectMany(m => m)).ToArray();
            Assert.Equal(single, split);
            Assert.All(Enumerable.Range(0, worldN).SelectMany(r => pn.MicroBatches(step, r)), m => Assert.InRange(m.Length, 1, batch));
            if (step < p1.StepsPerEpoch) seen.AddRange(single);
        }
        Assert.Equal(Enumerable.Range(0, rows), seen.Order()); // every row once per epoch
        Assert.NotEqual(p1.EpochOrder(0), p1.EpochOrder(1));    // reshuffled each epoch
        Assert.Equal(p1.EpochOrder(1), new StepPlan(rows, one, world1).EpochOrder(1)); // and reproducibly
    }

    [Theory]
    [InlineData("cpu", new[] { "cpu" })]
    [InlineData("cuda:0,1", new[] { "cuda:0", "cuda:1" })]
    [InlineData("cuda:3", new[] { "cuda:3" })]
    public void Devices_parse_to_one_worker_each(string spec, string[] expected) =>
        Assert.Equal(expected, RunSupervisor.ParseDevices(spec));

    [Fact]
    public void Unknown_devices_are_refused_with_the_accepted_forms() =>
        Assert.Contains("cuda:0,1", Assert.Throws<ArgumentException>(() => RunSupervisor.ParseDevices("gpu0")).Message);
}
