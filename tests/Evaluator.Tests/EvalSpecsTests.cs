using FunctionGemma.Evaluator.Evaluation;
using FunctionGemma.Protos;

namespace FunctionGemma.Evaluator.Tests;

public sealed class EvalSpecsTests
{
    private static EvalSpec Minimal() => new() { Model = new ModelRef { LocalPath = "/m" }, Dataset = new DatasetRef { Version = "ds1" } };

    [Fact]
    public void Empty_fields_get_the_reference_defaults()
    {
        var s = EvalSpecs.Normalize(Minimal());
        Assert.Equal(Split.Eval, s.Split);
        Assert.Equal(50, s.N);
        Assert.Equal(128, s.MaxNewTokens);
        Assert.Equal(16, s.BatchSize);
        Assert.Equal([1, 106, 50], s.StopTokenIds);
        Assert.Equal(("cpu", "float32"), (s.Device, s.Dtype));
    }

    [Theory]
    [InlineData("cuda", "", "cuda:0", "bfloat16")]
    [InlineData("CUDA:1", "fp16", "cuda:1", "float16")]
    [InlineData(" cpu ", "bf16", "cpu", "bfloat16")]
    public void Devices_and_dtypes_are_normalized(string device, string dtype, string expectedDevice, string expectedDtype)
    {
        var spec = Minimal();
        spec.Device = device;
        spec.Dtype = dtype;
        var s = EvalSpecs.Normalize(spec);
        Assert.Equal((expectedDevice, expectedDtype), (s.Device, s.Dtype));
    }

    [Theory]
    [InlineData("model")]
    [InlineData("dataset")]
    [InlineData("n")]
    [InlineData("batch")]
    [InlineData("device")]
    [InlineData("dtype")]
    public void Invalid_specs_are_refused_naming_the_field(string broken)
    {
        var spec = Minimal();
        switch (broken)
        {
            case "model": spec.Model = null; break;
            case "dataset": spec.Dataset.Version = " "; break;
            case "n": spec.N = -3; break;
            case "batch": spec.BatchSize = -1; break;
            case "device": spec.Device = "tpu"; break;
            case "dtype": spec.Dtype = "int8"; break;
        }
        var e = Assert.ThrowsAny<ArgumentException>(() => EvalSpecs.Normalize(spec));
        Assert.Contains("EvalSpec.", e.Message);
    }

    [Fact]
    public void Report_ids_are_stable_and_cover_model_dataset_spec_and_code()
    {
        var s = EvalSpecs.Normalize(Minimal());
        var id = EvalSpecs.ReportId(s, "sha256:aa", "v1");
        Assert.Equal(id, EvalSpecs.ReportId(EvalSpecs.Normalize(Minimal()), "sha256:aa", "v1"));
        Assert.Matches("^[0-9a-f]{64}$", id);
        Assert.NotEqual(id, EvalSpecs.ReportId(s, "sha256:bb", "v1"));
        Assert.NotEqual(id, EvalSpecs.ReportId(s, "sha256:aa", "v2"));
        var other = Minimal();
        other.Dataset.Version = "ds2";
        Assert.NotEqual(id, EvalSpecs.ReportId(EvalSpecs.Normalize(other), "sha256:aa", "v1"));
        var more = Minimal();
        more.N = 51;
        Assert.NotEqual(id, EvalSpecs.ReportId(EvalSpecs.Normalize(more), "sha256:aa", "v1"));
    }

    [Fact]
    public void Report_ids_ignore_what_does_not_change_the_outcome()
    {
        var id = EvalSpecs.ReportId(EvalSpecs.Normalize(Minimal()), "sha256:aa", "v1");
        var same = Minimal();
        same.N = 50;                                  // the default spelled out
        same.StopTokenIds.AddRange([50, 1, 106, 1]);  // the same set of stops
        same.Model = new ModelRef { LocalPath = "/elsewhere" }; // the model counts by its identity
        same.Lineage = new Lineage { ExperimentId = "x", Creator = "y" };
        same.Force = true;
        Assert.Equal(id, EvalSpecs.ReportId(EvalSpecs.Normalize(same), "sha256:aa", "v1"));

        var gpu0 = Minimal(); gpu0.Device = "cuda:0";
        var gpu1 = Minimal(); gpu1.Device = "cuda:1";
        Assert.Equal(EvalSpecs.ReportId(EvalSpecs.Normalize(gpu0), "m", "v"), EvalSpecs.ReportId(EvalSpecs.Normalize(gpu1), "m", "v"));
        Assert.NotEqual(id, EvalSpecs.ReportId(EvalSpecs.Normalize(gpu0), "sha256:aa", "v1"));
    }
}
