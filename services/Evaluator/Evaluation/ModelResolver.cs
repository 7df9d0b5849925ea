using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using FunctionGemma.Registry.Client;
using Microsoft.Extensions.Options;

namespace FunctionGemma.Evaluator.Evaluation;

/// <summary>A model as the Evaluator loads it.</summary>
/// <param name="Path">The local Hugging Face directory.</param>
/// <param name="Identity">What the report id counts: <c>registry:VERSION</c> or <c>sha256:HEX</c> of the directory's model files.</param>
/// <param name="RegistryVersion">The Registry version id, or "" when the model did not come from the Registry.</param>
public sealed record ResolvedModel(string Path, string Identity, string RegistryVersion);

/// <summary>
/// Turns a <see cref="ModelRef"/> into a local directory: local paths as they are, Trainer checkpoints through their
/// run's record, Registry versions and aliases pulled (once) into the Evaluator's model cache.
/// </summary>
public sealed class ModelResolver(
    JsonRecordStore<RunInfo> runs,
    IOptions<EvaluatorOptions> options,
    IHostEnvironment environment,
    IServiceProvider services)
{
    private static readonly ConcurrentDictionary<string, (string Stamp, string Identity)> IdentityCache = new();

    /// <summary>Resolves <paramref name="model"/>; <paramref name="progress"/> hears about Registry downloads.</summary>
    /// <exception cref="ArgumentException">The reference is empty or malformed.</exception>
    /// <exception cref="KeyNotFoundException">The run, version or checkpoint does not exist.</exception>
    /// <exception cref="DirectoryNotFoundException">A local directory does not exist.</exception>
    /// <exception cref="InvalidOperationException">The run has no checkpoint yet.</exception>
    public async Task<ResolvedModel> ResolveAsync(ModelRef model, Func<string, Task> progress, CancellationToken ct)
    {
        switch (model.SourceCase)
        {
            case ModelRef.SourceOneofCase.LocalPath:
                return Local(model.LocalPath, "ModelRef.local_path");
            case ModelRef.SourceOneofCase.Checkpoint:
                return Local(await CheckpointDirectoryAsync(model.Checkpoint, ct), $"checkpoint {model.Checkpoint.RunId}@{model.Checkpoint.Step}");
            case ModelRef.SourceOneofCase.RegistryVersion:
                return await PullAsync(model.RegistryVersion, progress, ct);
            case ModelRef.SourceOneofCase.RegistryAlias:
                return await PullAsync(model.RegistryAlias, progress, ct);
            default:
                throw new ArgumentException("ModelRef is empty: set registry_version, registry_alias, local_path or checkpoint.");
        }
    }

    private static ResolvedModel Local(string path, string what)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException($"{what} is empty.");
        var full = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"{what}: directory '{full}' does not exist; pass a Hugging Face model directory.");
        if (!File.Exists(System.IO.Path.Combine(full, "config.json")))
            throw new FileNotFoundException($"{what}: '{full}' has no config.json; pass a Hugging Face model directory.");
        return new ResolvedModel(full, DirectoryIdentity(full), "");
    }

    /// <summary>
    /// <c>sha256:HEX</c> over the files that decide the model's outputs (config.json, model*.safetensors and their index,
    /// tokenizer.json and tokenizer_config.json), each by relative path and content hash. Cached per file size and mtime.
    /// </summary>
    public static string DirectoryIdentity(string dir)
    {
        var files = Directory.EnumerateFiles(dir)
            .Select(f => new FileInfo(f))
            // Weights only: a Trainer checkpoint's optimizer.safetensors does not change what the model says.
            .Where(f => f.Name is "config.json" or "tokenizer.json" or "tokenizer_config.json" or "model.safetensors.index.json"
                        || (f.Name.StartsWith("model", StringComparison.Ordinal) && f.Name.EndsWith(".safetensors", StringComparison.Ordinal)))
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
        var stamp = string.Join('|', files.Select(f => $"{f.Name}:{f.Length}:{f.LastWriteTimeUtc.Ticks}"));
        if (IdentityCache.TryGetValue(dir, out var cached) && cached.Stamp == stamp) return cached.Identity;
        var manifest = new StringBuilder();
        foreach (var f in files)
        {
            using var stream = f.OpenRead();
            manifest.Append(f.Name).Append(' ').Append(Convert.ToHexStringLower(SHA256.HashData(stream))).Append('\n');
        }
        // Without its own tokenizer the directory is read with the FunctionGemma tokenizer derived from Gemma 3's.
        if (!files.Any(f => f.Name == "tokenizer.json")) manifest.Append("tokenizer derived-from-gemma3\n");
        var identity = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(manifest.ToString())));
        IdentityCache[dir] = (stamp, identity);
        return identity;
    }

    /// <summary>How the Trainer names checkpoint folders under ROOT/RUN.</summary>
    public const string CheckpointPrefix = "checkpoint-";

    private async Task<string> CheckpointDirectoryAsync(CheckpointRef checkpoint, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(checkpoint.RunId)) throw new ArgumentException("ModelRef.checkpoint.run_id is empty.");
        if (checkpoint.Step < 0) throw new ArgumentException($"ModelRef.checkpoint.step is {checkpoint.Step}: use 0 for the latest checkpoint.");
        var run = await runs.FindAsync(checkpoint.RunId, ct);
        string? latest = run is { LatestCheckpointPath.Length: > 0 } ? run.LatestCheckpointPath : null;
        if (latest is not null && (checkpoint.Step == 0 || run!.LatestCheckpoint?.Step == checkpoint.Step)) return latest;
        // Other steps (or runs Redis does not know) sit beside the latest one, or under the Trainer root:
        // ROOT/RUN/checkpoint-000010, zero-padded or not.
        var roots = new List<string>();
        if (latest is not null && System.IO.Path.GetDirectoryName(latest) is { } parent) roots.Add(parent);
        roots.Add(System.IO.Path.Combine(options.Value.ResolveTrainerRoot(environment.ContentRootPath), checkpoint.RunId));
        var found = roots.Where(Directory.Exists)
            .SelectMany(r => Directory.EnumerateDirectories(r, CheckpointPrefix + "*"))
            .Select(dir => (Ok: long.TryParse(System.IO.Path.GetFileName(dir).AsSpan(CheckpointPrefix.Length), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var step), Step: step, Dir: dir))
            .Where(c => c.Ok && File.Exists(System.IO.Path.Combine(c.Dir, "config.json")))
            .ToList();
        if (checkpoint.Step == 0 && found.Count > 0) return found.MaxBy(c => c.Step).Dir;
        if (found.FirstOrDefault(c => c.Step == checkpoint.Step) is { Dir: { } match }) return match;
        if (checkpoint.Step == 0 && run is not null)
            throw new InvalidOperationException($"Run '{checkpoint.RunId}' has no checkpoint yet (state {run.State}); wait for its first checkpoint.");
        if (checkpoint.Step == 0)
            throw new KeyNotFoundException($"No training run '{checkpoint.RunId}' and no checkpoints of it under the Trainer root. List runs with `fg runs`.");
        throw new KeyNotFoundException(run is null
            ? $"No training run '{checkpoint.RunId}' and no checkpoint directory for step {checkpoint.Step} under the Trainer root."
            : $"Run '{checkpoint.RunId}' has no checkpoint for step {checkpoint.Step} (latest: {run.LatestCheckpoint?.Step ?? 0}).");
    }

    private async Task<ResolvedModel> PullAsync(string reference, Func<string, Task> progress, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(reference)) throw new ArgumentException("The Registry reference is empty: pass a version id or name:alias.");
        var registry = services.GetService<Protos.Registry.RegistryClient>()
            ?? throw new InvalidOperationException("This Evaluator has no Registry client; evaluate a local_path or checkpoint instead.");
        // Aliases move: pin the version first so that the cache folder and the report name immutable content.
        var version = await registry.GetModelAsync(new ModelQuery { Ref = reference }, cancellationToken: ct);
        var dir = System.IO.Path.Combine(options.Value.ResolveModelCache(environment.ContentRootPath), version.Version);
        await progress($"pulling {reference} ({version.Version}) from the Registry into {dir}");
        await registry.PullToDirectoryAsync(version.Version, dir, ct);
        return new ResolvedModel(dir, "registry:" + version.Version, version.Version);
    }
}
