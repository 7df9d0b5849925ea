// ModelBench: the C# side of the peer benchmark (shared/bench/peer_hf_gemma3.py), same JSON fields.
//   ModelBench train --batch 16 [--seq 512] [--ckpt] [--steps 10] [--layers 18]
//   ModelBench train --batch 2 --graphs                  (replay captured CUDA graphs of the micro-batch)
//   ModelBench train --batch 16 --chunk 1024             (tokens per chunk of the LM-head loss; default: TrainingOptions')
//   ModelBench generate --batch 1 [--prompt 400] [--new 64] [--eager]   (--eager: no CUDA graph replay)
//   --no-flash (either mode): SDPA without the flash kernel
// Run one measurement per process: peak memory is the device memory in use (NVML) after the steps, less what the
// process held before the model existed; the caching allocator keeps its high-water mark, so this is peak reserved.
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using FunctionGemma.Model;
using static TorchSharp.torch;

var mode = args.Length > 0 ? args[0] : "train";
int Arg(string name, int fallback) { int i = Array.IndexOf(args, name); return i >= 0 ? int.Parse(args[i + 1]) : fallback; }
bool Flag(string name) => args.Contains(name);

if (!cuda.is_available()) { Console.WriteLine(JsonSerializer.Serialize(new { error = "CUDA is not available" })); return 1; }
var device = CUDA;
// --no-flash: SDPA may not pick the flash kernel (then memory-efficient attention), to compare backends at head_dim 256.
if (Flag("--no-flash")) backends.cuda.enable_flash_sdp(false);
using (var warm = ones(1, device: device)) { }
cuda.synchronize();
long baseline = Nvml.UsedBytes();
var config = Gemma3Config.FunctionGemma270M(Arg("--layers", 18));
var model = Gemma3ForCausalLM.Create(config, seed: 0, device: device, dtype: ScalarType.BFloat16);
model.eval();
long paramsCount = model.parameters().Sum(p => p.NumberOfElements);
Console.WriteLine(JsonSerializer.Serialize(new { what = "model", impl = "torchsharp", @params = paramsCount, gpu = Nvml.Name() }));

if (mode == "train")
{
    int batch = Arg("--batch", 2), seq = Arg("--seq", 512), steps = Arg("--steps", 10);
    bool ckpt = Flag("--ckpt");
    using var trainer = new SftTrainer(model, new TrainingOptions(LearningRate: 5e-5, ActivationCheckpointing: ckpt, CudaGraphs: Flag("--graphs")) is var o && Arg("--chunk", 0) is > 0 and var chunk
        ? o with { LossChunkTokens = chunk } : o);
    var gen = new Generator(1);
    var ids = randint(0, config.VocabSize, [batch, seq], ScalarType.Int64, generator: gen).to(device);
    var b = new TrainingBatch(ids, ids);
    for (int i = 0; i < 3; i++) trainer.Step(b);
    cuda.synchronize();
    var sw = Stopwatch.StartNew();
    StepResult r = default;
    for (int i = 0; i < steps; i++) r = trainer.Step(b);
    cuda.synchronize();
    double dt = sw.Elapsed.TotalSeconds;
    double peak = (Nvml.UsedBytes() - baseline) / Math.Pow(2, 30);
    // Where a step's time goes: forward alone, forward+loss+backward, then the optimizer (synchronized phases).
    var phase = Stopwatch.StartNew();
    using (no_grad()) model.HiddenStates(ids).Dispose();
    cuda.synchronize(); double fwdMs = phase.Elapsed.TotalMilliseconds; phase.Restart();
    var ce = trainer.AccumulateGradients(b);
    cuda.synchronize(); double fwdBwdMs = phase.Elapsed.TotalMilliseconds; phase.Restart();
    trainer.ApplyGradients(ce.LossSum, ce.Correct, ce.Tokens);
    cuda.synchronize(); double optMs = phase.Elapsed.TotalMilliseconds;
    Console.WriteLine(JsonSerializer.Serialize(new { what = "train_profile", impl = "torchsharp", batch, checkpointing = ckpt, forward_ms = fwdMs, forward_loss_backward_ms = fwdBwdMs, optimizer_ms = optMs }));
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        what = "train", impl = "torchsharp", batch, seq, checkpointing = ckpt, cuda_graphs = trainer.UsesCudaGraphs, tokens_per_s = batch * seq * steps / dt,
        step_ms = 1000 * dt / steps, peak_mem_gib = peak, loss = r.Loss, loss_chunk_tokens = trainer.Options.LossChunkTokens,
    }));
}
else
{
    int batch = Arg("--batch", 1), prompt = Arg("--prompt", 400), n = Arg("--new", 64);
    var gen = new Generator(2);
    var ids = randint(10, config.VocabSize, [batch, prompt], ScalarType.Int64, generator: gen);
    var rows = Enumerable.Range(0, batch).Select(r => (IReadOnlyList<int>)ids[r].data<long>().Select(x => (int)x).ToArray()).ToList();
    var options = new GenerationOptions(n) { UseCudaGraphs = !Flag("--eager") };
    GreedyGenerator.Generate(model, rows, options);
    cuda.synchronize();
    var sw = Stopwatch.StartNew();
    var outTokens = GreedyGenerator.Generate(model, rows, options);
    cuda.synchronize();
    double dt = sw.Elapsed.TotalSeconds;
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        what = "generate", impl = "torchsharp", batch, prompt, new_tokens = n, new_tokens_per_s = batch * n / dt,
        ms_per_token_step = 1000 * dt / n, generated = outTokens[0].Length,
        cuda_graphs = options.UseCudaGraphs && CudaGraphs.UsableOn(device, out _), graphs_unavailable = CudaGraphs.Unavailable,
    }));
}
return 0;

/// <summary>Device memory in use, through NVML (TorchSharp exposes no CUDA memory statistics).</summary>
static class Nvml
{
    [StructLayout(LayoutKind.Sequential)]
    struct Memory { public ulong Total, Free, Used; }

    [DllImport("libnvidia-ml.so.1")] static extern int nvmlInit_v2();
    [DllImport("libnvidia-ml.so.1")] static extern int nvmlDeviceGetHandleByIndex_v2(uint index, out IntPtr device);
    [DllImport("libnvidia-ml.so.1")] static extern int nvmlDeviceGetMemoryInfo(IntPtr device, out Memory memory);
    [DllImport("libnvidia-ml.so.1")] static extern unsafe int nvmlDeviceGetName(IntPtr device, byte* name, uint length);

    static IntPtr handle;

    static IntPtr Handle()
    {
        if (handle != IntPtr.Zero) return handle;
        if (nvmlInit_v2() != 0 || nvmlDeviceGetHandleByIndex_v2(0, out handle) != 0) throw new InvalidOperationException("NVML did not start.");
        return handle;
    }

    public static long UsedBytes() => nvmlDeviceGetMemoryInfo(Handle(), out var m) == 0 ? (long)m.Used : -1;

    public static unsafe string Name()
    {
        var buf = stackalloc byte[96];
        return nvmlDeviceGetName(Handle(), buf, 96) == 0 ? Marshal.PtrToStringAnsi((IntPtr)buf) ?? "" : "";
    }
}
