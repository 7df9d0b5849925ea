// EvalBench: the Evaluator's generation path on the FunctionGemma 270M architecture (random init), rows/s at each batch
// size, with the prompts and generated ids written for hf_eval_peer.py (the tutorial's HF generate loop) to replay.
//   EvalBench --sample samples/hermes-sample.jsonl --work /tmp/evalbench [--rows 50] [--new 128] [--batch 16 1]
//             [--device cuda:0] [--dtype bfloat16] [--size 270m] [--budget 40]
// A batch size whose run would exceed --budget seconds stops after the batch that crosses it; rows/s counts the rows done.
using System.Diagnostics;
using System.Text.Json;
using FunctionGemma.Core.Hermes;
using FunctionGemma.Core.Tokenizer;
using FunctionGemma.Evaluator.Evaluation;
using FunctionGemma.Evaluator.Reports;
using FunctionGemma.Model;
using FunctionGemma.Storage;
using TorchSharp;
using static TorchSharp.torch;

string Arg(string name, string fallback) { int i = Array.IndexOf(args, name); return i >= 0 ? args[i + 1] : fallback; }
int[] Ints(string name, int[] fallback)
{
    int i = Array.IndexOf(args, name);
    if (i < 0) return fallback;
    return args.Skip(i + 1).TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).Select(int.Parse).ToArray();
}
void Emit(object o) => Console.WriteLine(JsonSerializer.Serialize(o));

var sample = Arg("--sample", "samples/hermes-sample.jsonl");
var work = Arg("--work", Path.Combine(Path.GetTempPath(), "evalbench"));
int n = int.Parse(Arg("--rows", "50")), maxNew = int.Parse(Arg("--new", "128"));
double budget = double.Parse(Arg("--budget", "40"), System.Globalization.CultureInfo.InvariantCulture);
var batches = Ints("--batch", [16, 1]);
var device = EvalSpecs.NormalizeDevice(Arg("--device", cuda.is_available() ? "cuda:0" : "cpu"));
var dtype = EvalSpecs.NormalizeDtype(Arg("--dtype", ""), device);
var size = Arg("--size", "270m");

// The first n clean rows of the sample, in file order (cycled when the sample has fewer).
var clean = new List<DatasetRow>();
long line = 0;
foreach (var json in File.ReadLines(sample))
{
    if (HermesCleaner.Clean(HermesRow.FromJson(json)).Row is { } row) clean.Add(new DatasetRow(clean.Count, line, row, "", "sample"));
    line++;
}
var rows = Enumerable.Range(0, n).Select(i => clean[i % clean.Count] with { Index = i }).ToList();

var modelDir = Path.Combine(work, "model-" + size);
var sw = Stopwatch.StartNew();
if (!File.Exists(Path.Combine(modelDir, "model.safetensors"))) RandomInitModels.Create(size, 1, modelDir);
double createSeconds = sw.Elapsed.TotalSeconds;
sw.Restart();
var type = dtype switch { "bfloat16" => ScalarType.BFloat16, "float16" => ScalarType.Float16, _ => ScalarType.Float32 };
using var tokenizer = GemmaTokenizer.LoadFunctionGemma(modelDir);
using var model = HfModelDirectory.Load(modelDir, device == "cpu" ? CPU : torch.device(device), type);
model.eval();
Emit(new { what = "setup", impl = "torchsharp", size, device, dtype, clean_rows_in_sample = clean.Count, rows = n, create_s = createSeconds, load_s = sw.Elapsed.TotalSeconds });

// The prompts exactly as the Evaluator tokenizes them, for the peer.
var prompts = rows.Select(r => BatchedGeneration.PromptTokens(tokenizer, r)).ToList();
Emit(new { what = "prompts", rows = prompts.Count, prompt_tokens_mean = prompts.Average(p => p.Length), prompt_tokens_max = prompts.Max(p => p.Length) });
File.WriteAllText(Path.Combine(work, "prompts.json"), JsonSerializer.Serialize(new { model_dir = modelDir, max_new_tokens = maxNew, stop_ids = FunctionGemmaTokens.DefaultStopIds, prompts }));
var options = new GenerationOptions(maxNew, FunctionGemmaTokens.DefaultStopIds, tokenizer.PadId);

// Warm-up: CUDA context, cuBLAS handles, allocator.
await BatchedGeneration.RunAsync(model, tokenizer, rows.Take(2).ToList(), 2, options with { MaxNewTokens = 8 }, null, CancellationToken.None);
if (device != "cpu") cuda.synchronize();

foreach (var batch in batches)
{
    var done = new List<GeneratedRow>();
    sw.Restart();
    bool capped = false;
    for (int start = 0; start < rows.Count; start += batch)
    {
        done.AddRange(await BatchedGeneration.RunAsync(model, tokenizer, rows.Skip(start).Take(batch).ToList(), batch, options, null, CancellationToken.None));
        if (sw.Elapsed.TotalSeconds > budget && start + batch < rows.Count) { capped = true; break; }
    }
    if (device != "cpu") cuda.synchronize();
    double dt = sw.Elapsed.TotalSeconds;
    long tokens = done.Sum(r => (long)r.GeneratedTokens);
    var m = ReportBuilder.Summarize(done);
    Emit(new
    {
        what = "eval", impl = "torchsharp", batch, rows = done.Count, capped, seconds = dt, rows_per_s = done.Count / dt,
        new_tokens = tokens, tokens_per_s = tokens / dt, tool_accuracy = m.ToolAccuracy, tc_cer = m.TcCer,
    });
    File.WriteAllText(Path.Combine(work, $"torchsharp-b{batch}.json"), JsonSerializer.Serialize(done.Select(r => r.Prediction)));
}
return 0;
