using FunctionGemma.Core.Tokenizer;
using FunctionGemma.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace FunctionGemma.Evaluator.Evaluation;

/// <summary>A loaded model and its tokenizer, held by one evaluation at a time.</summary>
public sealed class ModelLease(Gemma3ForCausalLM model, GemmaTokenizer tokenizer, bool loaded, Action release) : IDisposable
{
    private int _released;

    public Gemma3ForCausalLM Model { get; } = model;
    public GemmaTokenizer Tokenizer { get; } = tokenizer;

    /// <summary>True when this lease loaded the model (false: it was already in memory).</summary>
    public bool Loaded { get; } = loaded;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) release();
    }
}

/// <summary>
/// Keeps the most recently used model in memory and lets one evaluation use the device at a time (a second waits),
/// so that back-to-back evaluations of one model load it once and two never compete for GPU memory.
/// </summary>
public sealed class ModelHost : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (string Key, Gemma3ForCausalLM Model, GemmaTokenizer Tokenizer)? _current;

    /// <summary>Waits for the device, then returns <paramref name="model"/> loaded on <paramref name="device"/> in <paramref name="dtype"/>.</summary>
    /// <exception cref="InvalidOperationException">CUDA was asked for and is not available.</exception>
    public async Task<ModelLease> AcquireAsync(ResolvedModel model, string device, string dtype, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var key = $"{model.Identity}|{model.Path}|{device}|{dtype}";
            bool loaded = false;
            if (_current?.Key != key)
            {
                Unload();
                var target = DeviceFor(device);
                var type = dtype switch { "bfloat16" => ScalarType.BFloat16, "float16" => ScalarType.Float16, _ => ScalarType.Float32 };
                var (m, t) = await Task.Run(() =>
                {
                    var tok = GemmaTokenizer.LoadFunctionGemma(model.Path);
                    var net = HfModelDirectory.Load(model.Path, target, type);
                    net.eval();
                    return (net, tok);
                }, ct);
                _current = (key, m, t);
                loaded = true;
            }
            var (_, mm, tt) = _current!.Value;
            return new ModelLease(mm, tt, loaded, () => _gate.Release());
        }
        catch
        {
            _gate.Release();
            throw;
        }
    }

    private static Device DeviceFor(string device)
    {
        if (device == "cpu") return CPU;
        int index = int.Parse(device.AsSpan(5), System.Globalization.CultureInfo.InvariantCulture);
        if (!cuda.is_available())
            throw new InvalidOperationException($"EvalSpec.device is '{device}' but this Evaluator has no CUDA device; use 'cpu' or run it on a GPU machine.");
        if (index >= cuda.device_count())
            throw new InvalidOperationException($"EvalSpec.device is '{device}' but only {cuda.device_count()} CUDA device(s) are visible.");
        return torch.device(DeviceType.CUDA, index);
    }

    private void Unload()
    {
        if (_current is not { } c) return;
        c.Model.Dispose();
        c.Tokenizer.Dispose();
        _current = null;
    }

    public void Dispose()
    {
        Unload();
        _gate.Dispose();
    }
}
