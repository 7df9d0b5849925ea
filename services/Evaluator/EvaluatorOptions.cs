namespace FunctionGemma.Evaluator;

/// <summary>Configuration section "Evaluator".</summary>
public sealed class EvaluatorOptions
{
    public const string Section = "Evaluator";

    /// <summary>Where models pulled from the Registry are kept; default .fg/evaluator/models in the repository.</summary>
    public string? ModelCache { get; set; }

    /// <summary>The Trainer's run root (ROOT/RUN/checkpoint-N), for checkpoint steps other than the latest; default .fg/runs in the repository, as the Trainer's.</summary>
    public string? TrainerRoot { get; set; }

    /// <summary>Overrides the code version that report ids include (default: the build's informational version).</summary>
    public string? CodeVersion { get; set; }

    /// <summary>The model cache root, relative paths taken from <paramref name="contentRoot"/>.</summary>
    public string ResolveModelCache(string contentRoot) =>
        !string.IsNullOrWhiteSpace(ModelCache) ? Path.GetFullPath(ModelCache, contentRoot) : Path.Combine(RepositoryOr(contentRoot), ".fg", "evaluator", "models");

    /// <summary>The Trainer's run root, relative paths taken from <paramref name="contentRoot"/>.</summary>
    public string ResolveTrainerRoot(string contentRoot) =>
        !string.IsNullOrWhiteSpace(TrainerRoot) ? Path.GetFullPath(TrainerRoot, contentRoot) : Path.Combine(RepositoryOr(contentRoot), ".fg", "runs");

    private static string RepositoryOr(string contentRoot)
    {
        for (var dir = new DirectoryInfo(contentRoot); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FunctionGemma.Aspire.sln"))) return dir.FullName;
        return contentRoot;
    }
}
