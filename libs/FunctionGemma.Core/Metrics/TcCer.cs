using System.Text.RegularExpressions;
using FunctionGemma.Core.Json;

namespace FunctionGemma.Core.Metrics;

/// <summary>
/// Tool-call character error rate: corpus CER between predicted and gold call blocks, exactly as
/// <c>evaluate.load("cer")</c> computes it with jiwer ≥ 4 (<c>process_characters</c> per pair, default transform:
/// Python <c>strip()</c>, then code points): Σ Levenshtein(ref, pred) / Σ len(ref).
/// </summary>
public static partial class TcCer
{
    /// <summary>The first <c>&lt;start_function_call&gt;…&lt;end_function_call&gt;</c> block (non-greedy, across lines), or "" when none.</summary>
    public static string CallBlock(string text)
    {
        var m = CallBlockRegex().Match(text);
        return m.Success ? m.Value : "";
    }

    /// <summary>Corpus CER over (reference, prediction) pairs.</summary>
    /// <exception cref="ArgumentException">A reference is empty or whitespace only (jiwer raises ValueError there), or the counts differ.</exception>
    public static double Compute(IReadOnlyList<string> references, IReadOnlyList<string> predictions)
    {
        var (errors, length) = Totals(references, predictions);
        if (length == 0) throw new ArgumentException("CER needs at least one reference.", nameof(references));
        return (double)errors / length;
    }

    /// <summary>Σ edit distance and Σ reference length over the pairs, after jiwer's default CER transform.</summary>
    public static (long Errors, long ReferenceLength) Totals(IReadOnlyList<string> references, IReadOnlyList<string> predictions)
    {
        if (references.Count != predictions.Count)
            throw new ArgumentException($"{references.Count} references but {predictions.Count} predictions; CER pairs them one to one.", nameof(predictions));
        long errors = 0, length = 0;
        for (int i = 0; i < references.Count; i++)
        {
            var reference = PythonText.CodePoints(PythonText.Strip(references[i]));
            if (reference.Length == 0)
                throw new ArgumentException($"Reference {i} is empty after stripping whitespace; jiwer refuses empty references.", nameof(references));
            var prediction = PythonText.CodePoints(PythonText.Strip(predictions[i]));
            errors += Levenshtein(reference, prediction);
            length += reference.Length;
        }
        return (errors, length);
    }

    /// <summary>Unit-cost edit distance between two code-point sequences.</summary>
    public static int Levenshtein(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        if (a.Length == 0) return b.Length;
        if (b.Length == 0) return a.Length;
        var row = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) row[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(above + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    [GeneratedRegex("<start_function_call>.*?<end_function_call>", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex CallBlockRegex();
}
