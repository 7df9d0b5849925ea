using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FunctionGemma.Protos;

namespace FunctionGemma.DataPrep;

/// <summary>Validation of dataset specs and the content-addressed version id.</summary>
public static class DatasetVersions
{
    /// <summary>
    /// The spec with defaults applied (rules "" → "reference", source trimmed); throws naming the field when a value
    /// is out of range. Row-count checks happen once the source is open (<see cref="CheckAgainstRows"/>).
    /// </summary>
    /// <exception cref="ArgumentException">A field is invalid.</exception>
    public static DatasetSpec Normalize(DatasetSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrWhiteSpace(spec.Source))
            throw new ArgumentException("DatasetSpec.source is empty: use \"hf:OWNER/NAME[@REVISION]\", \"parquet:PATH\", \"jsonl:PATH\" or \"sample\".");
        if (spec.Total < 0)
            throw new ArgumentException($"DatasetSpec.total is {spec.Total}: it must be ≥ 0 (0 = every row of the source).");
        if (spec.Eval < 0)
            throw new ArgumentException($"DatasetSpec.eval is {spec.Eval}: it must be ≥ 0.");
        if (spec.Total > 0 && spec.Eval > spec.Total)
            throw new ArgumentException($"DatasetSpec.eval ({spec.Eval}) exceeds DatasetSpec.total ({spec.Total}): the eval split is the last `eval` of the `total` rows.");
        var rules = CleaningRules.Named(spec.Rules);
        return new DatasetSpec { Source = spec.Source.Trim(), Seed = spec.Seed, Total = spec.Total, Eval = spec.Eval, Rules = rules.Name };
    }

    /// <summary>Checks the spec's counts against the source's row count; returns the number of rows to take.</summary>
    /// <exception cref="ArgumentException">total or eval exceed the source.</exception>
    public static int CheckAgainstRows(DatasetSpec spec, long rows)
    {
        if (spec.Total > rows)
            throw new ArgumentException($"DatasetSpec.total ({spec.Total}) exceeds the {rows} rows of source '{spec.Source}'.");
        int total = spec.Total == 0 ? checked((int)rows) : spec.Total;
        if (spec.Eval > total)
            throw new ArgumentException($"DatasetSpec.eval ({spec.Eval}) exceeds the {total} rows taken from source '{spec.Source}'.");
        return total;
    }

    /// <summary>
    /// The version id: sha256 (hex) of the source identity (with its pinned revision), the subset spec and the rules'
    /// name and version, one "key=value" line each.
    /// </summary>
    public static string VersionId(string sourceIdentity, DatasetSpec normalized, CleaningRules rules)
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"functiongemma.dataset/1\nsource={sourceIdentity}\nseed={normalized.Seed}\ntotal={normalized.Total}\neval={normalized.Eval}\nrules={rules.Name}@{rules.Version}\n");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }
}
