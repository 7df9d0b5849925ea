using FunctionGemma.Protos;
using FunctionGemma.Trainer.Training;
using Microsoft.Extensions.Options;

namespace FunctionGemma.Trainer.Runs;

/// <summary>
/// Resolves local directories and Trainer checkpoints itself, and Registry references through
/// <paramref name="registry"/> when the host wired one (the Registry's client pulls the version into a cache folder).
/// </summary>
public sealed class ModelResolver(IOptions<TrainerOptions> options, Func<ModelRef, CancellationToken, Task<string>>? registry = null) : IModelResolver
{
    /// <inheritdoc/>
    public async Task<string> ResolveAsync(ModelRef model, CancellationToken ct)
    {
        switch (model.SourceCase)
        {
            case ModelRef.SourceOneofCase.LocalPath:
                if (!File.Exists(Path.Combine(model.LocalPath, "config.json")))
                    throw new DirectoryNotFoundException($"Base model '{model.LocalPath}' is not a Hugging Face model directory (no config.json).");
                return model.LocalPath;
            case ModelRef.SourceOneofCase.Checkpoint:
                var root = options.Value.RootOrDefault();
                var c = model.Checkpoint;
                var path = c.Step > 0 ? Checkpoints.PathOf(root, c.RunId, c.Step) : Checkpoints.Latest(root, c.RunId)?.Path;
                if (path is null || !Directory.Exists(path))
                    throw new DirectoryNotFoundException($"Run '{c.RunId}' has no checkpoint{(c.Step > 0 ? $" at step {c.Step}" : "")} under {root}.");
                return path;
            case ModelRef.SourceOneofCase.RegistryVersion or ModelRef.SourceOneofCase.RegistryAlias:
                if (registry is null) throw new InvalidOperationException("This Trainer has no Registry client: pass base_model as a local_path or a checkpoint.");
                return await registry(model, ct);
            default:
                throw new ArgumentException("TrainSpec.base_model is empty: set local_path, checkpoint, registry_version or registry_alias.");
        }
    }
}
