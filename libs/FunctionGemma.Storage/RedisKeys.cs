using StackExchange.Redis;

namespace FunctionGemma.Storage;

/// <summary>Every Redis key the platform uses, in one place, so that writers and readers cannot drift apart.</summary>
public static class RedisKeys
{
    private const string Prefix = "fg:";

    /// <summary>Sorted set of complete dataset versions, scored by creation time (unix ms).</summary>
    public static RedisKey DatasetIndex => Prefix + "datasets";

    /// <summary>Hash with a dataset version's manifest; its existence marks the version complete.</summary>
    public static RedisKey DatasetManifest(string version) => $"{Prefix}ds:{version}:manifest";

    /// <summary>Stream of a dataset version's rows for one split ("train" or "eval").</summary>
    public static RedisKey DatasetRows(string version, string split) => $"{Prefix}ds:{version}:{split}";

    /// <summary>Lock held while one process prepares a version, so concurrent requests don't write the same streams.</summary>
    public static RedisKey DatasetLock(string version) => $"{Prefix}ds:{version}:lock";

    /// <summary>Sorted set of training runs by creation time.</summary>
    public static RedisKey RunIndex => Prefix + "runs";

    /// <summary>A training run's record (protobuf RunInfo as JSON).</summary>
    public static RedisKey Run(string runId) => $"{Prefix}run:{runId}";

    /// <summary>Stream of a training run's events (metrics, evals, checkpoints, state changes).</summary>
    public static RedisKey RunEvents(string runId) => $"{Prefix}run:{runId}:events";

    /// <summary>Sorted set of evaluation reports by creation time.</summary>
    public static RedisKey ReportIndex => Prefix + "reports";

    /// <summary>An evaluation report (protobuf EvalReport as JSON).</summary>
    public static RedisKey Report(string reportId) => $"{Prefix}report:{reportId}";

    /// <summary>Sorted set of model versions by creation time.</summary>
    public static RedisKey ModelIndex => Prefix + "models";

    /// <summary>A model version's manifest (protobuf ModelVersion as JSON).</summary>
    public static RedisKey Model(string version) => $"{Prefix}model:{version}";

    /// <summary>Hash alias → version for one model name.</summary>
    public static RedisKey ModelAliases(string name) => $"{Prefix}model-aliases:{name}";

    /// <summary>Sorted set of one model name's versions by creation time (unix ms).</summary>
    public static RedisKey ModelVersionsOf(string name) => $"{Prefix}model-versions:{name}";

    /// <summary>Set of every registered model name.</summary>
    public static RedisKey ModelNames => Prefix + "model-names";

    /// <summary>Hash "repo@revision" → Hub commit, for every publication of a model version.</summary>
    public static RedisKey ModelPublications(string version) => $"{Prefix}model:{version}:published";
}
