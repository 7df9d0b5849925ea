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

    /// <summary>Rows of uneven length (8 to 511 tokens), the first quarter of each row a prompt.</summary>
    static TokenizedExample[] Rows(int count, int seed = 1)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => { int n = rng.Next(8, 512); return new TokenizedExample(new int[n], n / 4); }).ToArray();
    }

    static IEnumerable<string> Keys(IEnumerable<int[]> microBatches) => microBatches.Select(m => string.Join(",", m)).Order();

    [Theory]
    [InlineData(130, 2, 8, 1, 2, 4)]
    [InlineData(37, 1, 3, 1, 3, 1)]
    [InlineData(100, 2, 8, 2, 4, 4)]
    public void Ranks_run_the_micro_batches_one_rank_would_run_covering_each_row_of_the_global_batch_once(int rows, int batch, int accum, int world1, int worldN, int accumN)
    {
        var one = TrainingSettings.From(new TrainSpec { PerDeviceBatch = batch, GradAccumulation = accum, Epochs = 2 });
        var many = TrainingSettings.From(new TrainSpec { PerDeviceBatch = batch, GradAccumulation = accumN, Epochs = 2 });
        Assert.Equal(one.GlobalBatch(world1), many.GlobalBatch(worldN));
        var data = Rows(rows);
        var p1 = new StepPlan(data, one, world1);
        var pn = new StepPlan(data, many, worldN, MicroBatchCost.For(FunctionGemma.Model.Gemma3Config.FunctionGemma270M(), 64));
        var seen = new List<int>();
        for (int step = 0; step < one.TotalSteps(rows, world1); step++)
        {
            var single = Enumerable.Range(0, world1).SelectMany(r => p1.MicroBatches(step, r)).ToArray();
            var split = Enumerable.Range(0, worldN).SelectMany(r => pn.MicroBatches(step, r)).ToArray();
            if (pn.StepRows(step).Count == many.GlobalBatch(worldN))
                Assert.Equal(Keys(single), Keys(split));                                    // the same micro-batches, so the same loss terms
            else if (pn.StepRows(step).Count >= worldN)                                     // a short last step still keeps every rank busy
                Assert.All(Enumerable.Range(0, worldN), r => Assert.NotEmpty(pn.MicroBatches(step, r)));
            Assert.Equal(pn.StepRows(step).Order(), split.SelectMany(m => m).Order());     // every row of the global batch exactly once
            Assert.Equal(p1.StepRows(step).ToArray(), pn.StepRows(step).ToArray());        // and the global batch is the one of one rank
            Assert.All(split, m => Assert.InRange(m.Length, 1, batch));
            Assert.All(Enumerable.Range(0, worldN), r => Assert.InRange(pn.MicroBatches(step, r).Count, 0, accumN));
            if (step < p1.StepsPerEpoch) seen.AddRange(single.SelectMany(m => m));
        }
        Assert.Equal(Enumerable.Range(0, rows), seen.Order()); // every row once per epoch
        Assert.NotEqual(p1.EpochOrder(0), p1.EpochOrder(1));    // reshuffled each epoch
        Assert.Equal(p1.EpochOrder(1), new StepPlan(data, one, world1).EpochOrder(1)); // and reproducibly
    }

    [Fact]
    public void The_split_is_a_function_of_the_step_alone_so_a_resumed_run_sees_the_same_batches()
    {
        var settings = TrainingSettings.From(new TrainSpec { PerDeviceBatch = 2, GradAccumulation = 4, Epochs = 3 });
        var data = Rows(90);
        var cost = MicroBatchCost.For(FunctionGemma.Model.Gemma3Config.FunctionGemma270M(), 64);
        var straight = new StepPlan(data, settings, 2, cost);
        int total = settings.TotalSteps(data.Length, 2);
        var expected = Enumerable.Range(0, total).Select(s => Enumerable.Range(0, 2).Select(r => straight.MicroBatches(s, r).ToArray()).ToArray()).ToArray();
        // A fresh plan (a resumed worker) asked from step 7 on, across the epoch boundary, and out of order.
        var resumed = new StepPlan(data, settings, 2, cost);
        foreach (var s in Enumerable.Range(7, total - 7).Concat([3, 0]))
            for (int r = 1; r >= 0; r--)
                Assert.Equal(expected[s][r], resumed.MicroBatches(s, r));
    }

    [Fact]
    public void Ranks_get_nearly_equal_work_and_micro_batches_of_similar_lengths()
    {
        var settings = TrainingSettings.From(new TrainSpec { PerDeviceBatch = 2, GradAccumulation = 4, Epochs = 1 });
        var data = Rows(960, seed: 7);
        var cost = MicroBatchCost.For(FunctionGemma.Model.Gemma3Config.FunctionGemma270M(), 64);
        var plan = new StepPlan(data, settings, 2, cost);
        double worstSlowdown = 0, contiguousSlowdown = 0, padded = 0, contiguousPadded = 0;
        long real = 0;
        for (int step = 0; step < plan.StepsPerEpoch; step++)
        {
            var rows = plan.StepRows(step).ToArray();
            // What the previous plan did: rank r took the r-th contiguous half of the global batch, in epoch order.
            var contiguous = new[] { rows[..8], rows[8..] }.Select(h => h.Chunk(2).Sum(m => cost.Of(data, m))).ToArray();
            double[] balanced = [plan.RankCost(step, 0), plan.RankCost(step, 1)];
            double Slowdown(double[] c) => c.Max() / c.Average();
            worstSlowdown = Math.Max(worstSlowdown, Slowdown(balanced));
            contiguousSlowdown += Slowdown(contiguous) - 1;
            foreach (var m in Enumerable.Range(0, 2).SelectMany(r => plan.MicroBatches(step, r))) padded += m.Length * cost.PaddedLength(data, m);
            foreach (var m in rows.Chunk(2)) contiguousPadded += m.Length * cost.PaddedLength(data, m);
            real += rows.Sum(i => (long)data[i].Ids.Length);
        }
        contiguousSlowdown /= plan.StepsPerEpoch;
        // Uniform lengths of 8..511 make a contiguous split about 15% slower than balanced on average; dealt, no step is off by more than 5%.
        Assert.True(contiguousSlowdown > 0.08, $"contiguous halves: mean slowdown {contiguousSlowdown:P1}");
        Assert.True(worstSlowdown < 1.05, $"dealt micro-batches: worst slowdown {worstSlowdown - 1:P1}");
        // Neighbours in length share a micro-batch, so padding is a fraction of what random pairs pay.
        Assert.True(padded - real < 0.5 * (contiguousPadded - real), $"padding {padded - real} vs {contiguousPadded - real} tokens");
    }

    [Fact]
    public void The_step_profile_leaves_out_warm_up_steps_and_reports_mean_milliseconds_per_phase()
    {
        var profile = new StepProfile(rank: 1, worldSize: 2, skipSteps: 1);
        profile.Add(new StepTimes(9, 9, 9, 9, 9, 0.9, 9, 9, 9)); // warm-up: left out
        profile.Add(new StepTimes(0.001, 0.200, 0.010, 0.004, 0.012, 0.49, 3000, 3200, 0.002));
        profile.Add(new StepTimes(0.003, 0.220, 0.000, 0.004, 0.012, 0.51, 3000, 3200, 0.000));
        Assert.Equal(2, profile.Steps);
        Assert.Equal("profile rank 1/2 run summary (2 steps): step 234.0 ms = host 2.0 + compute 210.0 + wait 5.0 + all-reduce 4.0 + " +
            "optimizer 12.0 + between steps 1.0; work share 50.0%, 3000 tokens/step, padding 6.3%", profile.Line("run summary"));
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
