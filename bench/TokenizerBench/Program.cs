// Tokenizer throughput on rendered FunctionGemma prompts.
//   TokenizerBench --corpus prompts.jsonl [--gemma3-dir DIR] [--rounds 3]
// The corpus holds one JSON string per line (make_tokenizer_fixtures.py --bench-corpus writes it).
// "chars" are UTF-16 code units in both this and hf_bench.py, so the two rates compare directly.
using System.Diagnostics;
using System.Text.Json;
using FunctionGemma.Core;
using FunctionGemma.Core.Tokenizer;

var corpusPath = Arg("--corpus") ?? throw new ArgumentException("usage: TokenizerBench --corpus prompts.jsonl [--gemma3-dir DIR] [--rounds 3]");
var gemma3Dir = Arg("--gemma3-dir") ?? RepoPaths.Gemma3TokenizerDir();
var rounds = int.Parse(Arg("--rounds") ?? "3");
var prompts = File.ReadLines(corpusPath).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<string>(l)!).ToArray();
long chars = prompts.Sum(p => (long)p.Length);

var load = Stopwatch.StartNew();
using var tokenizer = GemmaTokenizer.FunctionGemmaFromGemma3(Path.Combine(gemma3Dir, "tokenizer.json"));
load.Stop();
Emit("load", 1, load.Elapsed.TotalSeconds, 0);

long tokens = 0;
foreach (var p in prompts) tokens += tokenizer.Encode(p, addBos: true).Length; // warm-up, and the token count

var single = Best(() => { foreach (var p in prompts) tokenizer.Encode(p, addBos: true); });
Emit("single", 1, single, tokens);

var threads = Environment.ProcessorCount;
var parallel = Best(() => Parallel.ForEach(prompts, new ParallelOptions { MaxDegreeOfParallelism = threads }, p => tokenizer.Encode(p, addBos: true)));
Emit("parallel", threads, parallel, tokens);

var decodeIds = prompts.Select(p => tokenizer.Encode(p, addBos: true)).ToArray();
var decode = Best(() => { foreach (var ids in decodeIds) tokenizer.Decode(ids, skipSpecial: false); });
Emit("decode_single", 1, decode, tokens);

double Best(Action run)
{
    var best = double.MaxValue;
    for (var r = 0; r < rounds; r++)
    {
        var sw = Stopwatch.StartNew();
        run();
        best = Math.Min(best, sw.Elapsed.TotalSeconds);
    }
    return best;
}

void Emit(string mode, int threadCount, double seconds, long tokenCount) => Console.WriteLine(JsonSerializer.Serialize(new
{
    impl = "dotnet GemmaTokenizer (Tokenizers.DotNet 1.4.1, Rust tokenizers 0.22.2)",
    mode,
    threads = threadCount,
    prompts = prompts.Length,
    chars,
    tokens = tokenCount,
    seconds = Math.Round(seconds, 4),
    chars_per_s = tokenCount == 0 ? 0 : Math.Round(chars / seconds),
    tokens_per_s = tokenCount == 0 ? 0 : Math.Round(tokenCount / seconds),
}));

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
