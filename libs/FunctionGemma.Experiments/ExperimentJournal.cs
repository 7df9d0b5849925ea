using System.Text.Json;
using System.Text.Json.Serialization;

namespace FunctionGemma.Experiments;

/// <summary>What one experiment has produced so far: every stage's output is an id held by a service.</summary>
public sealed record ExperimentRecord
{
    /// <summary>Experiment id (name + hash of the canonical spec).</summary>
    public required string Id { get; init; }
    /// <summary>The spec's name.</summary>
    public required string Name { get; init; }
    /// <summary>The spec file it was started from.</summary>
    public required string SpecPath { get; init; }
    /// <summary>running, succeeded, failed or interrupted.</summary>
    public string State { get; set; } = "running";
    /// <summary>Why it failed, when it did.</summary>
    public string? Error { get; set; }
    /// <summary>W3C traceparent of the experiment's root span; resumes continue this trace.</summary>
    public string? TraceId { get; set; }
    /// <summary>DataPrep dataset version.</summary>
    public string? DatasetVersion { get; set; }
    /// <summary>The base model as one line (registry:…, path:…).</summary>
    public string? BaseModel { get; set; }
    /// <summary>Evaluator report of the base model.</summary>
    public string? BaselineReportId { get; set; }
    /// <summary>Trainer run id.</summary>
    public string? RunId { get; set; }
    /// <summary>Evaluator report of the fine-tuned model.</summary>
    public string? PostReportId { get; set; }
    /// <summary>Registry version of the fine-tuned model.</summary>
    public string? ModelVersion { get; set; }
    /// <summary>Hub URL, when published.</summary>
    public string? PublishedUrl { get; set; }
    /// <summary>When the experiment was first started.</summary>
    public DateTimeOffset Created { get; init; } = DateTimeOffset.UtcNow;
    /// <summary>Last change.</summary>
    public DateTimeOffset Updated { get; set; } = DateTimeOffset.UtcNow;
}

/// <summary>
/// Experiment records as JSON files (one per experiment id) in a folder, written by rename so that a crash never
/// leaves a torn record. The coordinator is the CLI, so its journal lives with the user, not in a service.
/// </summary>
public sealed class ExperimentJournal(string directory)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The journal folder.</summary>
    public string Directory { get; } = directory;

    /// <summary>The record of an experiment, or null.</summary>
    public ExperimentRecord? Find(string id)
    {
        var path = PathOf(id);
        return File.Exists(path) ? JsonSerializer.Deserialize<ExperimentRecord>(File.ReadAllText(path), Json) : null;
    }

    /// <summary>Writes the record atomically.</summary>
    public void Save(ExperimentRecord record)
    {
        System.IO.Directory.CreateDirectory(Directory);
        record.Updated = DateTimeOffset.UtcNow;
        var tmp = PathOf(record.Id) + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(record, Json));
        File.Move(tmp, PathOf(record.Id), overwrite: true);
    }

    /// <summary>Every record, newest first.</summary>
    public IReadOnlyList<ExperimentRecord> List() =>
        !System.IO.Directory.Exists(Directory) ? [] :
        System.IO.Directory.EnumerateFiles(Directory, "*.json")
            .Select(f => JsonSerializer.Deserialize<ExperimentRecord>(File.ReadAllText(f), Json)!)
            .OrderByDescending(r => r.Updated).ToList();

    private string PathOf(string id) => Path.Combine(Directory, id + ".json");
}
