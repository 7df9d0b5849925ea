using System.Globalization;
using System.Text;
using FunctionGemma.Protos;

namespace FunctionGemma.Registry.Hub;

/// <summary>The README.md published with a model: Hub metadata (YAML front matter), lineage, metrics and files.</summary>
public static class ModelCard
{
    public static string Render(ModelVersion v, string repoId)
    {
        var sb = new StringBuilder();
        sb.AppendLine("---");
        sb.AppendLine("library_name: transformers");
        sb.AppendLine("pipeline_tag: text-generation");
        if (v.BaseModel.Length > 0) sb.AppendLine($"base_model: {Yaml(v.BaseModel)}");
        sb.AppendLine("tags:");
        sb.AppendLine("- function-calling");
        sb.AppendLine("- functiongemma");
        sb.AppendLine("- functiongemma-aspire");
        sb.AppendLine("---");
        sb.AppendLine();
        sb.AppendLine($"# {repoId.Split('/')[^1]}");
        sb.AppendLine();
        sb.Append($"A function-calling model fine-tuned with FunctionGemma.Aspire");
        sb.AppendLine(v.BaseModel.Length > 0 ? $" from [{v.BaseModel}](https://huggingface.co/{v.BaseModel})." : ".");
        sb.AppendLine();
        sb.AppendLine("## Lineage");
        sb.AppendLine();
        sb.AppendLine("| | |");
        sb.AppendLine("|---|---|");
        Row("Registry model", v.Name);
        Row("Registry version", $"`{v.Version}`");
        Row("Base model", v.BaseModel);
        Row("Dataset version", v.Dataset?.Version is { Length: > 0 } d ? $"`{d}`" : "");
        Row("Experiment", v.Lineage?.ExperimentId ?? "");
        Row("Code version", v.Lineage?.CodeVersion ?? "");
        Row("Creator", v.Lineage?.Creator ?? "");
        Row("Created", v.Created?.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture) ?? "");
        Row("Trace", v.Lineage?.Traceparent is { Length: > 0 } t ? $"`{t}`" : "");
        Row("Evaluation reports", string.Join(", ", v.EvalReportIds.Select(id => $"`{id}`")));
        sb.AppendLine();
        if (v.Metrics.Count > 0)
        {
            sb.AppendLine("## Metrics");
            sb.AppendLine();
            sb.AppendLine("| metric | value |");
            sb.AppendLine("|---|---|");
            foreach (var (k, val) in v.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                sb.AppendLine($"| {k} | {val.ToString("0.####", CultureInfo.InvariantCulture)} |");
            sb.AppendLine();
        }
        if (v.TrainSpecJson.Length > 0)
        {
            sb.AppendLine("## Training spec");
            sb.AppendLine();
            sb.AppendLine("```json");
            sb.AppendLine(v.TrainSpecJson.Trim());
            sb.AppendLine("```");
            sb.AppendLine();
        }
        sb.AppendLine("## Usage");
        sb.AppendLine();
        sb.AppendLine("```python");
        sb.AppendLine("from transformers import AutoModelForCausalLM, AutoTokenizer");
        sb.AppendLine($"tokenizer = AutoTokenizer.from_pretrained(\"{repoId}\")");
        sb.AppendLine($"model = AutoModelForCausalLM.from_pretrained(\"{repoId}\")");
        sb.AppendLine("```");
        sb.AppendLine();
        sb.AppendLine("## Files");
        sb.AppendLine();
        sb.AppendLine("| file | bytes | sha256 |");
        sb.AppendLine("|---|---|---|");
        foreach (var f in v.Files.Where(f => f.Path != "README.md"))
            sb.AppendLine($"| {f.Path} | {f.Size.ToString(CultureInfo.InvariantCulture)} | `{f.Sha256}` |");
        return sb.ToString();

        void Row(string key, string value)
        {
            if (value.Length > 0) sb.AppendLine($"| {key} | {value.Replace("|", "\\|")} |");
        }
    }

    private static string Yaml(string s) => s.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '-' or '_' or '.') ? s : $"\"{s.Replace("\"", "\\\"")}\"";
}
