namespace FunctionGemma.Model.Tests;

/// <summary>
/// The GPU tests run one at a time, never beside other tests: a CUDA graph capture fails when another thread of the
/// process synchronizes the device meanwhile (CudaStreamScope does, on entry and exit).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GpuCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Gpu";
}
