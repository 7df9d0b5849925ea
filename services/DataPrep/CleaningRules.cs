using FunctionGemma.Core.Hermes;

namespace FunctionGemma.DataPrep;

/// <summary>A named, versioned cleaning rule set; the version goes into the dataset version id.</summary>
/// <param name="Name">What a spec's <c>rules</c> field says.</param>
/// <param name="Version">Changes whenever the rules' output can change.</param>
/// <param name="Clean">The rules.</param>
public sealed record CleaningRules(string Name, string Version, Func<HermesRow, CleanOutcome> Clean)
{
    /// <summary>The recipe's rules (recipe.md "Cleaning rules"), implemented by <see cref="HermesCleaner"/>.</summary>
    public static readonly CleaningRules Reference = new("reference", "reference/1", HermesCleaner.Clean);

    /// <summary>Every rule set by name.</summary>
    public static readonly IReadOnlyDictionary<string, CleaningRules> All = new Dictionary<string, CleaningRules> { [Reference.Name] = Reference };

    /// <summary>The rule set a spec names ("" = reference).</summary>
    /// <exception cref="ArgumentException">No rule set has that name.</exception>
    public static CleaningRules Named(string? name) =>
        string.IsNullOrWhiteSpace(name) ? Reference
        : All.TryGetValue(name.Trim(), out var rules) ? rules
        : throw new ArgumentException($"DatasetSpec.rules '{name}' is not a rule set; known: {string.Join(", ", All.Keys)}.");

    /// <summary>The key of a drop reason in manifests, progress and metrics (snake_case).</summary>
    public static string DropKey(DropReason reason) => reason switch
    {
        DropReason.NoGoldCall => "no_gold_call",
        DropReason.NoTools => "no_tools",
        DropReason.GoldToolNotInTools => "gold_tool_not_in_tools",
        _ => reason.ToString(),
    };
}
