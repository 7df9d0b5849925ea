using System.Diagnostics;
using FunctionGemma.Core.Json;
using FunctionGemma.Core.Prompt;
using FunctionGemma.Core.Tokenizer;
using FunctionGemma.Evaluator.Reports;
using FunctionGemma.Model;
using FunctionGemma.Storage;

namespace FunctionGemma.Evaluator.Evaluation;

/// <summary>
/// The generation half of an evaluation, shared by the service and bench/EvalBench: reference prompts, batched
/// KV-cache greedy decoding, reference decoding of the new tokens.
/// </summary>
public static class BatchedGeneration
{
    /// <summary>
    /// Generates for every row in batches of <paramref name="batchSize"/>, longest prompts first so that a batch holds
    /// similar lengths (less left padding); <paramref name="afterBatch"/> hears (rows done, tokens so far) after each.
    /// Results come back in the order of <paramref name="rows"/>.
    /// </summary>
    public static async Task<List<GeneratedRow>> RunAsync(Gemma3ForCausalLM model, GemmaTokenizer tokenizer, IReadOnlyList<DatasetRow> rows,
        int batchSize, GenerationOptions options, Func<int, long, Task>? afterBatch, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var prompts = rows.Select(r => PromptTokens(tokenizer, r)).ToArray();
        var order = Enumerable.Range(0, rows.Count).OrderByDescending(i => prompts[i].Length).ThenBy(i => i).ToArray();
        var results = new GeneratedRow?[rows.Count];
        long tokens = 0;
        for (int start = 0; start < order.Length; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            var batch = order.Skip(start).Take(batchSize).ToArray();
            int[][] outputs;
            using (var span = EvaluatorTelemetry.Source.StartActivity("GenerateBatch"))
            {
                span?.SetTag("fg.eval.batch_rows", batch.Length);
                span?.SetTag("fg.eval.prompt_tokens_max", prompts[batch[0]].Length);
                // TorchSharp's dispose scopes and no_grad are per thread: the whole batch runs on one pool thread.
                outputs = await Task.Run(() => GreedyGenerator.Generate(model, batch.Select(i => (IReadOnlyList<int>)prompts[i]).ToList(), options), ct);
            }
            for (int k = 0; k < batch.Length; k++)
            {
                results[batch[k]] = new GeneratedRow(rows[batch[k]], DecodePrediction(tokenizer, outputs[k]), outputs[k].Length);
                tokens += outputs[k].Length;
            }
            if (afterBatch is not null) await afterBatch(Math.Min(start + batch.Length, order.Length), tokens);
        }
        return results.Select(r => r!).ToList();
    }

    /// <summary>The reference prompt of a row as token ids (the template writes &lt;bos&gt;, so none is added).</summary>
    public static int[] PromptTokens(GemmaTokenizer tokenizer, DatasetRow row) =>
        tokenizer.Encode(ReferencePrompt.Prompt(row.Clean.UserContent, row.Clean.Tools), addBos: false);

    /// <summary>
    /// The new tokens as the reference decodes them: special tokens skipped (end of turn, &lt;start_function_response&gt;),
    /// the function-call markers and &lt;escape&gt; kept, then Python <c>str.strip()</c>.
    /// </summary>
    public static string DecodePrediction(GemmaTokenizer tokenizer, ReadOnlySpan<int> newTokens) =>
        PythonText.Strip(tokenizer.Decode(newTokens, skipSpecial: true));
}
