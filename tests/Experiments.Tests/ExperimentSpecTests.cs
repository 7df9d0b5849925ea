using FunctionGemma.Core;
using FunctionGemma.Experiments;

namespace FunctionGemma.Experiments.Tests;

public sealed class ExperimentSpecTests
{
    private static string Sample(string file) => Path.Combine(RepoPaths.Root(), "samples", file);

    [Fact]
    public void The_reference_sample_equals_the_recipe_defaults()
    {
        var spec = ExperimentSpecLoader.LoadFile(Sample("reference.yaml"));
        var defaults = new ExperimentSpec();
        Assert.Equal(defaults.Dataset, spec.Dataset);
        Assert.Equal(defaults.Train, spec.Train);
        Assert.Equal(defaults.Evaluation, spec.Evaluation);
        Assert.Equal((40UL, 3000, 300), (spec.Dataset.Seed, spec.Dataset.Total, spec.Dataset.Eval));
        Assert.Equal((512, 2, 8, 5e-5, 0.03), (spec.Train.MaxLength, spec.Train.PerDeviceBatch, spec.Train.GradAccumulation, spec.Train.LearningRate, spec.Train.WarmupRatio));
        Assert.Equal((50, 128), (spec.Evaluation.N, spec.Evaluation.MaxNewTokens));
    }

    [Fact]
    public void The_quickstart_runs_on_cpu_from_the_sample_with_a_tiny_model()
    {
        var spec = ExperimentSpecLoader.LoadFile(Sample("quickstart.yaml"));
        Assert.Equal("sample", spec.Dataset.Source);
        Assert.Equal("tiny", spec.BaseModel.Init);
        Assert.Equal("cpu", spec.Train.Devices);
        Assert.Equal("cpu", spec.Evaluation.Device);
    }

    [Fact]
    public void An_unknown_key_is_named_with_its_line()
    {
        var e = Assert.Throws<ExperimentSpecException>(() =>
            ExperimentSpecLoader.Parse("name: x\nbase_model:\n  init: tiny\ntrain:\n  learning_rat: 0.1\n", "bad.yaml"));
        Assert.Contains("bad.yaml", e.Message);
        Assert.Contains("line 5", e.Message);
        Assert.Contains("learning_rat", e.Message);
    }

    [Fact]
    public void Every_invalid_value_is_reported_at_once_with_its_key()
    {
        var e = Assert.Throws<ExperimentSpecException>(() => ExperimentSpecLoader.Parse("""
            name: ok
            dataset: { source: "ftp:x", total: 10, eval: 10 }
            base_model: { init: huge }
            train: { precision: fp8, devices: "gpu0" }
            evaluation: { n: 0 }
            """));
        foreach (var key in new[] { "dataset.source", "dataset.eval", "base_model.init", "train.precision", "train.devices", "evaluation.n" })
            Assert.Contains(key, e.Message);
    }

    [Fact]
    public void Base_model_needs_exactly_one_source()
    {
        var e = Assert.Throws<ExperimentSpecException>(() =>
            ExperimentSpecLoader.Parse("name: x\nbase_model: { path: /m, init: tiny }\n"));
        Assert.Contains("base_model", e.Message);
    }

    [Fact]
    public void The_experiment_id_depends_on_every_value_but_not_on_formatting()
    {
        var a = ExperimentSpecLoader.Parse("name: x\nbase_model: { init: tiny }\ntrain: { learning_rate: 0.001 }\n");
        var b = ExperimentSpecLoader.Parse("# comment\nname: x\nbase_model:\n  init: tiny\ntrain:\n  learning_rate: 1.0e-3\n");
        var c = ExperimentSpecLoader.Parse("name: x\nbase_model: { init: tiny }\ntrain: { learning_rate: 0.002 }\n");
        Assert.Equal(ExperimentSpecLoader.ExperimentId(a), ExperimentSpecLoader.ExperimentId(b));
        Assert.NotEqual(ExperimentSpecLoader.ExperimentId(a), ExperimentSpecLoader.ExperimentId(c));
        Assert.StartsWith("x-", ExperimentSpecLoader.ExperimentId(a));
    }

    [Fact]
    public void Cuda_graphs_can_be_turned_off_in_a_spec_and_specs_that_do_not_say_keep_their_ids()
    {
        var plain = ExperimentSpecLoader.Parse("name: x\nbase_model: { init: tiny }\n");
        var off = ExperimentSpecLoader.Parse("name: x\nbase_model: { init: tiny }\ntrain: { cuda_graphs: false }\n");
        Assert.Null(plain.Train.CudaGraphs);
        Assert.False(off.Train.CudaGraphs);
        // Unset, the field is not in the canonical text at all, so ids from before it existed still find their records.
        Assert.DoesNotContain("cuda_graphs", ExperimentSpecLoader.Canonical(plain));
        Assert.Contains("cuda_graphs: false", ExperimentSpecLoader.Canonical(off));
        Assert.NotEqual(ExperimentSpecLoader.ExperimentId(plain), ExperimentSpecLoader.ExperimentId(off));
    }

    [Fact]
    public void A_missing_file_names_the_path_and_an_example()
    {
        var e = Assert.Throws<ExperimentSpecException>(() => ExperimentSpecLoader.LoadFile("/nope/spec.yaml"));
        Assert.Contains("/nope/spec.yaml", e.Message);
        Assert.Contains("quickstart.yaml", e.Message);
    }
}
