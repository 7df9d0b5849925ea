using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using FunctionGemma.Model;
using FunctionGemma.Model.Distributed;
using static TorchSharp.torch;

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
/// generation_config.json, model.safetensors with the fp32 master weights, tokenizer files), optimizer.safetensors
/// (AdamW moments), and trainer_state.json (scheduler step, data cursor, RNG state). Each is written into a hidden
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
    public static string Save(string root, string runId, Gemma3Config config, FlatLayout layout, FlatAdamW optimizer,
        TrainerState state, string? tokenizerDir, string? generationConfigDir)
    {
        var final = PathOf(root, runId, state.GlobalStep);
        var temp = Path.Combine(RunDirectory(root, runId), $".tmp-{Path.GetFileName(final)}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            File.WriteAllText(Path.Combine(temp, "config.json"), config.ToJson("float32"));
            var gen = generationConfigDir is null ? null : Path.Combine(generationConfigDir, "generation_config.json");
            if (gen is not null && File.Exists(gen)) File.Copy(gen, Path.Combine(temp, "generation_config.json"));
            if (tokenizerDir is not null)
                foreach (var f in HfModelDirectory.TokenizerFiles)
                    if (File.Exists(Path.Combine(tokenizerDir, f))) File.Copy(Path.Combine(tokenizerDir, f), Path.Combine(temp, f));

            using (var scope = NewDisposeScope())
            {
                var weights = layout.Slots.ToDictionary(s => s.Name, s => layout.View(optimizer.Master, s).to(CPU).contiguous());
                Safetensors.SaveDirectory(temp, weights);
                var moments = new Dictionary<string, Tensor>();
                foreach (var s in layout.Slots)
                {
                    moments["exp_avg." + s.Name] = layout.View(optimizer.ExpAvg, s).to(CPU).contiguous();
                    moments["exp_avg_sq." + s.Name] = layout.View(optimizer.ExpAvgSq, s).to(CPU).contiguous();
                }
                Safetensors.Save(Path.Combine(temp, OptimizerFile), moments,
                    new Dictionary<string, string> { ["step"] = optimizer.Step.ToString(CultureInfo.InvariantCulture) });
            }
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

    /// <summary>Restores master weights and AdamW moments from a checkpoint into <paramref name="optimizer"/>.</summary>
    /// <exception cref="InvalidDataException">A tensor is missing or has another shape (the checkpoint is of another model).</exception>
    public static void Restore(string path, FlatLayout layout, FlatAdamW optimizer)
    {
        var weights = Safetensors.LoadDirectory(path);
        var moments = Safetensors.Load(Path.Combine(path, OptimizerFile));
        try
        {
            using var _ = no_grad();
            foreach (var s in layout.Slots)
            {
                Copy(weights, s.Name, layout.View(optimizer.Master, s));
                Copy(moments, "exp_avg." + s.Name, layout.View(optimizer.ExpAvg, s));
                Copy(moments, "exp_avg_sq." + s.Name, layout.View(optimizer.ExpAvgSq, s));
            }
            var (_, meta, _) = Safetensors.ReadHeader(Path.Combine(path, OptimizerFile));
            optimizer.Step = long.Parse(meta["step"], CultureInfo.InvariantCulture);
        }
        finally
        {
            foreach (var t in weights.Values.Concat(moments.Values)) t.Dispose();
        }

        void Copy(Dictionary<string, Tensor> from, string name, Tensor into)
        {
            using (into)
            {
                if (!from.TryGetValue(name, out var t) || !t.shape.SequenceEqual(into.shape))
                    throw new InvalidDataException($"Checkpoint '{path}' lacks '{name}' of shape [{string.Join(",", into.shape)}]: it belongs to another model.");
                into.copy_(t);
            }
        }
    }
}
