using System.Text.RegularExpressions;

namespace FunctionGemma.Registry.Store;

/// <summary>Parsing and validation of model names, aliases and references ("VERSION", "NAME:ALIAS" or "NAME").</summary>
public static partial class ModelNames
{
    public const string Latest = "latest";

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex AliasPattern();

    /// <summary>Hugging Face repo-id rules: "name" or "namespace/name" of letters, digits, '.', '_' and '-'.</summary>
    public static void ValidateName(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || !NamePattern().IsMatch(name) || name.Contains(".."))
            throw new ArgumentException($"Model name '{name}' is invalid: use letters, digits, '.', '_', '-' and at most one '/' (like a Hugging Face repo id).");
    }

    public static void ValidateAlias(string alias)
    {
        if (string.IsNullOrWhiteSpace(alias) || !AliasPattern().IsMatch(alias) || Store.BlobStore.IsSha256(alias.ToLowerInvariant()))
            throw new ArgumentException($"Alias '{alias}' is invalid: use letters, digits, '.', '_', '-' (and not a 64-hex version id).");
    }

    /// <summary>A manifest path must be relative, forward-slashed and stay inside the model directory.</summary>
    public static void ValidateFilePath(string path)
    {
        if (string.IsNullOrWhiteSpace(path) || path.StartsWith('/') || path.Contains('\\') || path.Contains('\0')
            || path.Split('/').Any(s => s is "" or "." or ".."))
            throw new ArgumentException($"File path '{path}' is invalid: use a relative path with '/' separators and no '.', '..' or empty segments.");
    }
}
