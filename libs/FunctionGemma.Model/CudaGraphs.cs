using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace FunctionGemma.Model;

/// <summary>
/// CUDA graphs for TorchSharp, through libtorch's own <c>at::cuda::CUDAGraph</c> and c10's stream functions, bound by
/// their C++ symbol names (TorchSharp exposes neither). A captured graph replays hundreds of small kernels with one
/// launch, which is what batch-1 decoding is bound by; libtorch's class is used rather than the bare CUDA API because
/// it also points the caching allocator at a private memory pool for the capture, so replays never reuse memory that
/// other tensors hold.
/// </summary>
/// <remarks>
/// The symbols are looked up when first needed; where any is missing (CPU builds, a libtorch whose signatures
/// changed) <see cref="Available"/> is false and <see cref="Unavailable"/> says which, so callers run eagerly and can
/// report why. Capture needs a non-default stream (<see cref="CudaStreamScope"/>) on device 0 of the process, and no
/// other thread may synchronize the device while a capture runs (CUDA invalidates the capture): one thread does the
/// GPU work of a process (the Trainer's worker, the Evaluator's generation), and GPU tests do not run in parallel.
/// </remarks>
public static unsafe class CudaGraphs
{
    // c10::cuda::CUDAStream is a trivially copyable 16-byte {Device, StreamId}: passed and returned in two registers.
    [StructLayout(LayoutKind.Sequential)]
    internal struct StreamValue { public long Device, Id; }

    internal sealed class Bindings
    {
        public delegate* unmanaged<byte, sbyte, StreamValue> GetStreamFromPool;
        public delegate* unmanaged<sbyte, StreamValue> GetCurrentStream;
        public delegate* unmanaged<StreamValue, void> SetCurrentStream;
        public delegate* unmanaged<IntPtr, byte, void> Construct;            // CUDAGraph(bool keep_graph)
        public delegate* unmanaged<IntPtr, void> ConstructOld;               // CUDAGraph()
        public delegate* unmanaged<IntPtr, ulong, ulong, int, byte, void> CaptureBegin; // (pool pair, mode[, dynamic_graph])
        public delegate* unmanaged<IntPtr, void> CaptureEnd;
        public delegate* unmanaged<IntPtr, void> Replay;
        public delegate* unmanaged<IntPtr, void> Destruct;
        public delegate* unmanaged<IntPtr, PoolId> Pool;
        public delegate* unmanaged<StreamValue*, IntPtr> StreamHandle; // CUDAStream::stream() const: the cudaStream_t
    }

    // at::cuda::MempoolId_t, a std::pair<unsigned long long, unsigned long long>: two registers either way.
    [StructLayout(LayoutKind.Sequential)]
    internal struct PoolId { public ulong First, Second; }

    static readonly Lazy<(Bindings? Api, string? Why)> bindings = new(Bind);

    /// <summary>Whether graphs can be captured in this process (libtorch with CUDA and the expected symbols).</summary>
    public static bool Available => bindings.Value.Api is not null;

    /// <summary>Why <see cref="Available"/> is false; null when it is true.</summary>
    public static string? Unavailable => bindings.Value.Why;

    internal static Bindings Api => bindings.Value.Api ?? throw new InvalidOperationException($"CUDA graphs are unavailable: {Unavailable}");

    static (Bindings?, string?) Bind()
    {
        if (Environment.GetEnvironmentVariable("FG_CUDA_GRAPHS") == "0") return (null, "FG_CUDA_GRAPHS=0");
        if (!cuda.is_available()) return (null, "CUDA is not available");
        if (!NativeLibrary.TryLoad("libc10_cuda.so", out var c10) || !NativeLibrary.TryLoad("libtorch_cuda.so", out var torchCuda))
            return (null, "libc10_cuda.so or libtorch_cuda.so did not load");
        var missing = new List<string>();
        IntPtr Find(IntPtr lib, params string[] names)
        {
            foreach (var n in names) if (NativeLibrary.TryGetExport(lib, n, out var p)) return p;
            missing.Add(names[0]);
            return IntPtr.Zero;
        }
        var b = new Bindings
        {
            GetStreamFromPool = (delegate* unmanaged<byte, sbyte, StreamValue>)Find(c10, "_ZN3c104cuda17getStreamFromPoolEba"),
            GetCurrentStream = (delegate* unmanaged<sbyte, StreamValue>)Find(c10, "_ZN3c104cuda20getCurrentCUDAStreamEa"),
            SetCurrentStream = (delegate* unmanaged<StreamValue, void>)Find(c10, "_ZN3c104cuda20setCurrentCUDAStreamENS0_10CUDAStreamE"),
            CaptureEnd = (delegate* unmanaged<IntPtr, void>)Find(torchCuda, "_ZN2at4cuda9CUDAGraph11capture_endEv"),
            Replay = (delegate* unmanaged<IntPtr, void>)Find(torchCuda, "_ZN2at4cuda9CUDAGraph6replayEv"),
            Destruct = (delegate* unmanaged<IntPtr, void>)Find(torchCuda, "_ZN2at4cuda9CUDAGraphD1Ev"),
            Pool = (delegate* unmanaged<IntPtr, PoolId>)Find(torchCuda, "_ZN2at4cuda9CUDAGraph4poolEv"),
            StreamHandle = (delegate* unmanaged<StreamValue*, IntPtr>)Find(c10, "_ZNK3c104cuda10CUDAStream6streamEv"),
            // capture_begin gained a trailing bool in some releases; passing false for it is harmless where it is absent.
            CaptureBegin = (delegate* unmanaged<IntPtr, ulong, ulong, int, byte, void>)Find(torchCuda,
                "_ZN2at4cuda9CUDAGraph13capture_beginESt4pairIyyE21cudaStreamCaptureMode",
                "_ZN2at4cuda9CUDAGraph13capture_beginESt4pairIyyE21cudaStreamCaptureModeb"),
        };
        // The constructor took keep_graph in later releases; either form is fine (keep_graph=false instantiates at capture end).
        if (NativeLibrary.TryGetExport(torchCuda, "_ZN2at4cuda9CUDAGraphC1Eb", out var ctor)) b.Construct = (delegate* unmanaged<IntPtr, byte, void>)ctor;
        else b.ConstructOld = (delegate* unmanaged<IntPtr, void>)Find(torchCuda, "_ZN2at4cuda9CUDAGraphC1Ev");
        return missing.Count == 0 ? (b, null) : (null, "libtorch lacks " + string.Join(", ", missing));
    }

    /// <summary>The <c>cudaStream_t</c> libtorch runs on now on cuda:0 (the capture stream inside a capture), for kernels launched by hand.</summary>
    internal static IntPtr CurrentStreamHandle()
    {
        var api = Api;
        var current = api.GetCurrentStream(0);
        return api.StreamHandle(&current);
    }

    /// <summary>Whether a decode on <paramref name="device"/> can use graphs; <paramref name="why"/> says why not.</summary>
    public static bool UsableOn(Device device, out string? why)
    {
        if (device.type != TorchSharp.DeviceType.CUDA) { why = "not a CUDA device"; return false; }
        // The graph and stream calls act on the thread's current device, which TorchSharp leaves at 0.
        if (device.index > 0) { why = $"graphs are captured on cuda:0 only (model on {device})"; return false; }
        why = Unavailable;
        return Available;
    }
}

/// <summary>
/// Makes the process's capture stream (one stream from libtorch's pool, the same every time) the thread's current
/// stream for <c>cuda:0</c> (graph capture cannot use the default stream), and restores the previous one on dispose.
/// Pool streams do not synchronize with the default stream, so the device is synchronized on entry and on exit.
/// </summary>
/// <remarks>
/// One stream for every scope: the caching allocator reuses a freed block only on the stream that allocated it, so a
/// new pool stream per capture would strand each warm-up's memory on its own stream.
/// </remarks>
public sealed unsafe class CudaStreamScope : IDisposable
{
    static readonly Lazy<CudaGraphs.StreamValue> captureStream = new(() => CudaGraphs.Api.GetStreamFromPool(0, 0));
    readonly CudaGraphs.StreamValue previous;
    bool disposed;

    /// <summary>Enters a pool stream (see <see cref="CudaGraphs.UsableOn"/> first).</summary>
    public CudaStreamScope()
    {
        var api = CudaGraphs.Api;
        cuda.synchronize();
        previous = api.GetCurrentStream(0);
        api.SetCurrentStream(captureStream.Value);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        cuda.synchronize();
        CudaGraphs.Api.SetCurrentStream(previous);
    }
}

/// <summary>
/// One captured CUDA graph: <see cref="Capture"/> records the kernels <c>body</c> queues (without running them),
/// <see cref="Replay"/> runs them again with the same memory. Everything the body reads or writes between replays must
/// live in tensors created before the capture and kept alive; tensors the body makes come from the graph's pool.
/// </summary>
public sealed unsafe class CudaGraph : IDisposable
{
    // sizeof(at::cuda::CUDAGraph) is a few hundred bytes in the releases seen; the object is built in a roomier block.
    const int ObjectBytes = 16 * 1024;
    const int CaptureModeThreadLocal = 1; // other threads' CUDA calls stay legal during the capture

    IntPtr self;

    CudaGraph()
    {
        var api = CudaGraphs.Api;
        self = (IntPtr)NativeMemory.AllocZeroed(ObjectBytes);
        if (api.Construct != null) api.Construct(self, 0);
        else api.ConstructOld(self);
    }

    /// <summary>
    /// Captures <paramref name="body"/> on the current (non-default) stream. The body should have run eagerly once on
    /// this stream first, so that lazy initialization (cuBLAS workspaces, cached weights) is not captured.
    /// With <paramref name="sharePoolWith"/> the new graph takes its memory from that graph's pool: safe when no
    /// tensor the body allocates outlives a replay (results go to tensors made outside) and the graphs never run at once.
    /// </summary>
    public static CudaGraph Capture(Action body, CudaGraph? sharePoolWith = null)
    {
        var g = new CudaGraph();
        var api = CudaGraphs.Api;
        var pool = sharePoolWith is null ? default : api.Pool(sharePoolWith.self);
        api.CaptureBegin(g.self, pool.First, pool.Second, CaptureModeThreadLocal, 0);
        // A body that throws leaves the capture open: ending an invalidated capture raises inside libtorch, which
        // would abort the process, so the body's own exception is what surfaces.
        body();
        api.CaptureEnd(g.self);
        return g;
    }

    /// <summary>Launches the captured kernels on the current stream.</summary>
    public void Replay()
    {
        ObjectDisposedException.ThrowIf(self == IntPtr.Zero, this);
        CudaGraphs.Api.Replay(self);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (self == IntPtr.Zero) return;
        CudaGraphs.Api.Destruct(self);
        NativeMemory.Free((void*)self);
        self = IntPtr.Zero;
    }
}
