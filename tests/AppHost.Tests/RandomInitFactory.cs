using FunctionGemma.Experiments;
using FunctionGemma.Model;

namespace FunctionGemma.AppHost.Tests;

/// <summary>Random-init base models for the experiments the tests run (what fg's factory does).</summary>
public sealed class RandomInitFactory : IBaseModelFactory
{
    public Task CreateAsync(string size, ulong seed, string directory, CancellationToken ct) =>
        Task.Run(() => RandomInitModels.Create(size, seed, directory), ct);
}
