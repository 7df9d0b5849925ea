using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using FunctionGemma.Model;

namespace FunctionGemma.Trainer.Training;

/// <summary>Where the data stream stands at a checkpoint.</summary>
/// <param name="Epoch">Epoch of the next step.</param>
/// <param name="StepInEpoch">Index of the next step within its epoch.</param>
/// <param name="RowsSeen">Rows consumed so far, all ranks.</param>
public sealed record DataCursor(int Epoch, int StepInEpoch, long RowsSeen);

/// <summary>trainer_state.json of a checkpoint: everything besides tensors that a resumed run needs.</summary>
public sealed record TrainerState(
    [property: JsonPropertyName("global_step")] int GlobalStep,
    [property: JsonPropertyName("scheduler_step")] int SchedulerStep,
    [property: JsonPropertyName("total_steps")] int TotalSteps,
    [property: JsonPropertyName("optimizer_step")] long OptimizerStep,
    [property: JsonPropertyName("seed")] ulong Seed,
    [property: JsonPropertyName("world_size")] int WorldSize,
    [property: JsonPropertyName("global_batch")] int GlobalBatch,
    [property: JsonPropertyName("data_cursor")] DataCursor Cursor,
    [property: JsonPropertyName("rng_state")] string RngState,
    [property: JsonPropertyName("tokens_seen")] long TokensSeen);

/// <summary>
/// Checkpoints of a run: <c>ROOT/RUN/checkpoint-000010/</c> holding a Hugging Face model directory (config.json,
/// generation_config.json, model.safetensors in the compute dtype, tokenizer files), optimizer.safetensors (fp32
/// master weights and AdamW moments, from <see cref="SftTrainer.SaveState"/>), and trainer_state.json (scheduler step,
/// data cursor, RNG state). Each is written into a hidden
/// temporary folder and renamed into place, so a reader never sees a torn checkpoint.
/// </summary>
public static class Checkpoints
{
    /// <summary>Prefix of checkpoint folder names.</summary>
    public const string Prefix = "checkpoint-";
    const string StateFile = "trainer_state.json";
    const string OptimizerFile = "optimizer.safetensors";
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The folder of one run.</summary>
    public static string RunDirectory(string root, string runId) => Path.Combine(root, runId);

    /// <summary>The folder of step <paramref name="step"/>.</summary>
    public static string PathOf(string root, string runId, long step) =>
        Path.Combine(RunDirectory(root, runId), Prefix + step.ToString("D6", CultureInfo.InvariantCulture));

    /// <summary>Complete checkpoints of a run, by step.</summary>
    public static IReadOnlyList<(long Step, string Path)> List(string root, string runId)
    {
        var dir = RunDirectory(root, runId);
        if (!Directory.Exists(dir)) return [];
        return Directory.GetDirectories(dir, Prefix + "*")
            .Select(p => (Ok: long.TryParse(Path.GetFileName(p)[Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var s), Step: s, Path: p))
            .Where(x => x.Ok && File.Exists(Path.Combine(x.Path, StateFile)))
            .OrderBy(x => x.Step)
            .Select(x => (x.Step, x.Path))
            .ToList();
    }

    /// <summary>The newest complete checkpoint, or null.</summary>
    public static (long Step, string Path)? Latest(string root, string runId) =>
        List(root, runId) is { Count: > 0 } all ? all[^1] : null;

    /// <summary>Writes a checkpoint atomically and returns its path.</summary>
    public static string Save(string root, string runId, SftTrainer trainer, TrainerState state, string? tokenizerDir)
    {
        var final = PathOf(root, runId, state.GlobalStep);
        var temp = Path.Combine(RunDirectory(root, runId), $".tmp-{Path.GetFileName(final)}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            // The weights in the compute dtype (what transformers loads); the exact fp32 masters are in the optimizer file.
            HfModelDirectory.Save(trainer.Model, temp, trainer.Model.DType, tokenizerDir);
            trainer.SaveState(Path.Combine(temp, OptimizerFile));
            File.WriteAllText(Path.Combine(temp, StateFile), JsonSerializer.Serialize(state, Json));
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true); // a re-run of the same step replaces it
            Directory.Move(temp, final);
            return final;
        }
        catch
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>The trainer state of a checkpoint folder.</summary>
    public static TrainerState ReadState(string path) =>
        JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(Path.Combine(path, StateFile)))
        ?? throw new InvalidDataException($"{path}/{StateFile} is empty.");

    /// <summary>Restores the fp32 masters, AdamW moments and step count of a checkpoint into <paramref name="trainer"/> (and its model).</summary>
    /// <exception cref="InvalidDataException">The checkpoint belongs to another model.</exception>
    public static void Restore(string path, SftTrainer trainer) => trainer.LoadState(Path.Combine(path, OptimizerFile));
}
