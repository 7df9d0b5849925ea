using FunctionGemma.Experiments;
using FunctionGemma.Model;

namespace FunctionGemma.Cli.Platform;

/// <summary>Random-init base models for specs with base_model.init.</summary>
public sealed class RandomInitModelFactory : IBaseModelFactory
{
    /// <inheritdoc />
    public Task CreateAsync(string size, ulong seed, string directory, CancellationToken ct) =>
        Task.Run(() => RandomInitModels.Create(size, seed, directory), ct);
}
