using System.Runtime.InteropServices;
using System.Text;
using static TorchSharp.torch;

namespace FunctionGemma.Model;

/// <summary>
/// Fused CUDA kernels the eager op set cannot express, compiled at run time with NVRTC (it ships with the CUDA
/// libtorch) and launched through the driver API on libtorch's current stream, so they order with TorchSharp's own
/// kernels and can be captured in a <see cref="CudaGraph"/>. Each one replaces several full passes over memory:
/// <list type="bullet">
/// <item>the cross-entropy of a bf16 logits chunk: one pass for each row's log-sum-exp, loss and argmax test, one pass
/// that turns the logits into their bf16 gradient in place (instead of an fp32 softmax, its bf16 copy and a scatter);</item>
/// <item>AdamW over the flat fp32 masters and moments with the clip and average folded in, writing the bf16 weights and
/// clearing the gradient sum (instead of about seven kernels and twenty passes).</item>
/// </list>
/// Where NVRTC, the driver or libtorch's stream symbols are missing, <see cref="Available"/> is false and callers use
/// the eager ops (same formulas, rounded in another order).
/// </summary>
public static unsafe class CudaKernels
{
    const string Source = """
        typedef unsigned short bf16;
        __device__ __forceinline__ float lo(unsigned w) { return __uint_as_float(w << 16); }
        __device__ __forceinline__ float hi(unsigned w) { return __uint_as_float(w & 0xffff0000u); }
        __device__ __forceinline__ unsigned short tobf(float f) {
            unsigned u = __float_as_uint(f);
            if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;
            u += 0x7fffu + ((u >> 16) & 1u);
            return (unsigned short)(u >> 16);
        }
        __device__ __forceinline__ void merge(float& m, float& s, float m2, float s2) {
            float mx = fmaxf(m, m2);
            s = s * expf(m - mx) + s2 * expf(m2 - mx);
            m = mx;
        }

        // One block per row of bf16 logits [rows, vocab]: fp32 log-sum-exp, loss = lse - logit[target], and whether the
        // target's logit is the largest. Masked rows give loss 0, not correct.
        extern "C" __global__ void xent_rows(const bf16* __restrict__ logits, const long long* __restrict__ target,
            const bool* __restrict__ mask, int vocab, float* __restrict__ lse, float* __restrict__ loss, int* __restrict__ correct)
        {
            const int row = blockIdx.x;
            const uint4* x = reinterpret_cast<const uint4*>(logits + (size_t)row * vocab);
            float m = -3.0e38f, s = 0.f;
            for (int i = threadIdx.x; i < vocab / 8; i += blockDim.x) {
                uint4 v = x[i];
                unsigned w[4] = { v.x, v.y, v.z, v.w };
                for (int k = 0; k < 4; k++) {
                    float a = lo(w[k]), b = hi(w[k]);
                    float mx = fmaxf(m, fmaxf(a, b));
                    s = s * expf(m - mx) + expf(a - mx) + expf(b - mx);
                    m = mx;
                }
            }
            for (int o = 16; o > 0; o >>= 1) merge(m, s, __shfl_xor_sync(0xffffffffu, m, o), __shfl_xor_sync(0xffffffffu, s, o));
            __shared__ float ms[32], ss[32];
            const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
            if (lane == 0) { ms[warp] = m; ss[warp] = s; }
            __syncthreads();
            if (warp == 0) {
                m = lane < warps ? ms[lane] : -3.0e38f;
                s = lane < warps ? ss[lane] : 0.f;
                for (int o = 16; o > 0; o >>= 1) merge(m, s, __shfl_xor_sync(0xffffffffu, m, o), __shfl_xor_sync(0xffffffffu, s, o));
                if (lane == 0) {
                    const float l = m + logf(s);
                    const long long t = target[row];
                    const float xt = __uint_as_float(((unsigned)logits[(size_t)row * vocab + t]) << 16);
                    const bool keep = mask == nullptr || mask[row];
                    lse[row] = l;
                    loss[row] = keep ? l - xt : 0.f;
                    correct[row] = keep && xt >= m ? 1 : 0;
                }
            }
        }

        // In place: logits become scale * (softmax - onehot(target)) in bf16; masked rows become zero.
        extern "C" __global__ void xent_grad(bf16* __restrict__ logits, const long long* __restrict__ target,
            const bool* __restrict__ mask, const float* __restrict__ lse, float scale, int vocab)
        {
            const int row = blockIdx.x;
            uint4* x = reinterpret_cast<uint4*>(logits + (size_t)row * vocab);
            const bool keep = mask == nullptr || mask[row];
            const float l = lse[row];
            const long long t = target[row];
            for (int i = threadIdx.x; i < vocab / 8; i += blockDim.x) {
                uint4 v = x[i];
                unsigned w[4] = { v.x, v.y, v.z, v.w };
                for (int k = 0; k < 4; k++) {
                    const long long j = (long long)i * 8 + k * 2;
                    float a = keep ? (expf(lo(w[k]) - l) - (j == t ? 1.f : 0.f)) * scale : 0.f;
                    float b = keep ? (expf(hi(w[k]) - l) - (j + 1 == t ? 1.f : 0.f)) * scale : 0.f;
                    w[k] = (unsigned)tobf(a) | ((unsigned)tobf(b) << 16);
                }
                uint4 r; r.x = w[0]; r.y = w[1]; r.z = w[2]; r.w = w[3];
                x[i] = r;
            }
        }

        // AdamW on flat fp32 buffers, PyTorch's formulas: g = grad * coef[0] (clip and average), decoupled decay below
        // decayEnd, m = lerp(m, g, 1 - b1), v = v * b2 + (1 - b2) * g * g, p += -step * (m / (sqrt(v) + eps2));
        // then the bf16 weight and a cleared gradient.
        extern "C" __global__ void adamw(float* __restrict__ master, float* __restrict__ grad, float* __restrict__ m,
            float* __restrict__ v, bf16* __restrict__ param, const float* __restrict__ coef, long long n, long long decayEnd,
            float decay, float b1, float b2, float eps2, float step)
        {
            const float c = coef[0];
            for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
                const float g = grad[i] * c;
                float p = master[i];
                if (i < decayEnd) p *= decay;
                const float mi = m[i] + (1.f - b1) * (g - m[i]);
                const float vi = v[i] * b2 + (1.f - b2) * g * g;
                p = p + (-step) * (mi / (sqrtf(vi) + eps2));
                master[i] = p; m[i] = mi; v[i] = vi; grad[i] = 0.f;
                param[i] = tobf(p);
            }
        }
        """;

    sealed class Module
    {
        public IntPtr XentRows, XentGrad, AdamW;
    }

    static readonly Lazy<(Module? Module, string? Why)> module = new(Build);

    /// <summary>Whether the kernels compiled and loaded in this process.</summary>
    public static bool Available => module.Value.Module is not null;

    /// <summary>Why <see cref="Available"/> is false; null when it is true.</summary>
    public static string? Unavailable => module.Value.Why;

    /// <summary>Whether the fused kernels serve tensors on <paramref name="device"/> of <paramref name="dtype"/> (bf16 on cuda:0).</summary>
    public static bool Serve(Device device, ScalarType dtype) =>
        dtype == ScalarType.BFloat16 && CudaGraphs.UsableOn(device, out _) && Available;

    const string Driver = "libcuda.so.1";
    [DllImport(Driver)] static extern int cuModuleLoadData(out IntPtr module, byte* image);
    [DllImport(Driver)] static extern int cuDeviceGet(out int device, int ordinal);
    [DllImport(Driver)] static extern int cuDeviceGetAttribute(out int value, int attribute, int device);
    [DllImport(Driver)] static extern int cuModuleGetFunction(out IntPtr function, IntPtr module, [MarshalAs(UnmanagedType.LPStr)] string name);
    [DllImport(Driver)] static extern int cuLaunchKernel(IntPtr f, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedBytes, IntPtr stream, void** args, void** extra);

    static (Module?, string?) Build()
    {
        if (Environment.GetEnvironmentVariable("FG_CUDA_KERNELS") == "0") return (null, "FG_CUDA_KERNELS=0");
        if (!CudaGraphs.Available) return (null, CudaGraphs.Unavailable);
        IntPtr nvrtc = IntPtr.Zero;
        foreach (var name in new[] { "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so" })
            if (NativeLibrary.TryLoad(name, out nvrtc)) break;
        if (nvrtc == IntPtr.Zero) return (null, "NVRTC (libnvrtc.so.13 or .12) did not load");
        try
        {
            var create = (delegate* unmanaged<out IntPtr, byte*, byte*, int, IntPtr, IntPtr, int>)NativeLibrary.GetExport(nvrtc, "nvrtcCreateProgram");
            var compile = (delegate* unmanaged<IntPtr, int, byte**, int>)NativeLibrary.GetExport(nvrtc, "nvrtcCompileProgram");
            var ptxSize = (delegate* unmanaged<IntPtr, out nuint, int>)NativeLibrary.GetExport(nvrtc, "nvrtcGetPTXSize");
            var getPtx = (delegate* unmanaged<IntPtr, byte*, int>)NativeLibrary.GetExport(nvrtc, "nvrtcGetPTX");
            var logSize = (delegate* unmanaged<IntPtr, out nuint, int>)NativeLibrary.GetExport(nvrtc, "nvrtcGetProgramLogSize");
            var getLog = (delegate* unmanaged<IntPtr, byte*, int>)NativeLibrary.GetExport(nvrtc, "nvrtcGetProgramLog");
            var destroy = (delegate* unmanaged<ref IntPtr, int>)NativeLibrary.GetExport(nvrtc, "nvrtcDestroyProgram");
            var src = Encoding.UTF8.GetBytes(Source + "\0");
            var name = Encoding.UTF8.GetBytes("fg_kernels.cu\0");
            IntPtr prog;
            fixed (byte* s = src, n = name)
                if (create(out prog, s, n, 0, IntPtr.Zero, IntPtr.Zero) != 0) return (null, "nvrtcCreateProgram failed");
            try
            {
                // PTX for the GPU's own compute capability (each NVRTC release accepts a different range of them).
                const int CapabilityMajor = 75, CapabilityMinor = 76; // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_*
                if (cuDeviceGet(out var dev, 0) != 0 || cuDeviceGetAttribute(out var major, CapabilityMajor, dev) != 0
                    || cuDeviceGetAttribute(out var minor, CapabilityMinor, dev) != 0)
                    return (null, "the CUDA driver did not report the GPU's compute capability");
                var opts = new[] { $"--gpu-architecture=compute_{major}{minor}\0", "--std=c++17\0" }.Select(Encoding.UTF8.GetBytes).ToArray();
                var handles = opts.Select(o => GCHandle.Alloc(o, GCHandleType.Pinned)).ToArray();
                int rc;
                try
                {
                    var ptrs = stackalloc byte*[opts.Length];
                    for (int i = 0; i < opts.Length; i++) ptrs[i] = (byte*)handles[i].AddrOfPinnedObject();
                    rc = compile(prog, opts.Length, ptrs);
                }
                finally { foreach (var h in handles) h.Free(); }
                if (rc != 0)
                {
                    logSize(prog, out var ls);
                    var log = new byte[(int)ls];
                    fixed (byte* l = log) getLog(prog, l);
                    return (null, "NVRTC could not compile the kernels: " + Encoding.UTF8.GetString(log).TrimEnd('\0'));
                }
                ptxSize(prog, out var size);
                var ptx = new byte[(int)size];
                fixed (byte* p = ptx)
                {
                    getPtx(prog, p);
                    int loaded = cuModuleLoadData(out var mod, p);
                    if (loaded != 0) return (null, $"cuModuleLoadData refused the PTX (CUDA driver error {loaded}; it needs the CUDA context current on this thread)");
                    var m = new Module();
                    if (cuModuleGetFunction(out m.XentRows, mod, "xent_rows") != 0 || cuModuleGetFunction(out m.XentGrad, mod, "xent_grad") != 0
                        || cuModuleGetFunction(out m.AdamW, mod, "adamw") != 0)
                        return (null, "a kernel is missing from the module");
                    return (m, null);
                }
            }
            finally { destroy(ref prog); }
        }
        catch (EntryPointNotFoundException e) { return (null, "NVRTC lacks " + e.Message); }
    }

    static Module Kernels => module.Value.Module ?? throw new InvalidOperationException($"CUDA kernels are unavailable: {Unavailable}");

    static void Launch(IntPtr f, uint grid, uint block, void** args)
    {
        int rc = cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, CudaGraphs.CurrentStreamHandle(), args, null);
        if (rc != 0) throw new InvalidOperationException($"cuLaunchKernel failed with CUDA driver error {rc}.");
    }

    static void Require(Tensor t, ScalarType dtype, string what, long? elements = null)
    {
        if (t.dtype != dtype || !t.is_contiguous() || t.device_type != TorchSharp.DeviceType.CUDA)
            throw new ArgumentException($"{what} must be a contiguous CUDA {dtype} tensor, not {t.dtype} on {t.device}.");
        if (elements is { } n && t.NumberOfElements != n)
            throw new ArgumentException($"{what} must have {n} elements, not {t.NumberOfElements}.");
    }

    // The cross-entropy kernels read the logits 16 bytes at a time: rows must start on 16-byte boundaries.
    static void RequireLogits(Tensor logits)
    {
        Require(logits, ScalarType.BFloat16, "logits");
        if (logits.shape[1] % 8 != 0) throw new ArgumentException($"The fused cross-entropy reads 8 logits at a time; vocab {logits.shape[1]} is not a multiple of 8.");
        if (Pointers.Data(logits) % 16 != 0) throw new ArgumentException("The logits must start on a 16-byte boundary (a fresh tensor, not a view into one).");
    }

    /// <summary>
    /// Per row of <paramref name="logits"/> (<c>[rows, vocab]</c> bf16, vocab a multiple of 8): the fp32 log-sum-exp
    /// into <paramref name="lse"/>, the loss into <paramref name="loss"/> and 1 into <paramref name="correct"/> (int32)
    /// where the target's logit is the largest; rows where <paramref name="mask"/> is false give 0 and 0.
    /// </summary>
    public static void CrossEntropyRows(Tensor logits, Tensor targets, Tensor? mask, Tensor lse, Tensor loss, Tensor correct)
    {
        RequireLogits(logits);
        long n = logits.shape[0];
        Require(targets, ScalarType.Int64, "targets", n);
        if (mask is not null) Require(mask, ScalarType.Bool, "mask", n);
        Require(lse, ScalarType.Float32, "lse", n);
        Require(loss, ScalarType.Float32, "loss", n);
        Require(correct, ScalarType.Int32, "correct", n);
        int rows = (int)n, vocab = (int)logits.shape[1];
        IntPtr x = Pointers.Data(logits), t = Pointers.Data(targets), m = mask is null ? IntPtr.Zero : Pointers.Data(mask);
        IntPtr l = Pointers.Data(lse), lo = Pointers.Data(loss), c = Pointers.Data(correct);
        void** args = stackalloc void*[] { &x, &t, &m, &vocab, &l, &lo, &c };
        Launch(Kernels.XentRows, (uint)rows, 1024, args);
    }

    /// <summary>
    /// In place: <paramref name="logits"/> become <c>scale × (softmax − onehot(target))</c> in bf16, from the
    /// <paramref name="lse"/> of <see cref="CrossEntropyRows"/>; rows where <paramref name="mask"/> is false become zero.
    /// </summary>
    public static void CrossEntropyGradient(Tensor logits, Tensor targets, Tensor? mask, Tensor lse, float scale)
    {
        RequireLogits(logits);
        long n = logits.shape[0];
        Require(targets, ScalarType.Int64, "targets", n);
        if (mask is not null) Require(mask, ScalarType.Bool, "mask", n);
        Require(lse, ScalarType.Float32, "lse", n);
        int rows = (int)n, vocab = (int)logits.shape[1];
        IntPtr x = Pointers.Data(logits), t = Pointers.Data(targets), m = mask is null ? IntPtr.Zero : Pointers.Data(mask), l = Pointers.Data(lse);
        void** args = stackalloc void*[] { &x, &t, &m, &l, &scale, &vocab };
        Launch(Kernels.XentGrad, (uint)rows, 1024, args);
    }

    /// <summary>
    /// One AdamW step over flat fp32 <paramref name="master"/>, <paramref name="grad"/> (multiplied by the device
    /// scalar <paramref name="coef"/> first), moments <paramref name="expAvg"/>/<paramref name="expAvgSq"/>, with
    /// decoupled decay on elements below <paramref name="decayEnd"/>; writes the bf16 <paramref name="param"/> and zeroes
    /// <paramref name="grad"/>.
    /// </summary>
    public static void AdamW(Tensor master, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor param, Tensor coef, long decayEnd,
        double decay, double beta1, double beta2, double eps2, double step)
    {
        foreach (var (t, what) in new[] { (master, "master"), (grad, "grad"), (expAvg, "exp_avg"), (expAvgSq, "exp_avg_sq"), (coef, "coef") })
            Require(t, ScalarType.Float32, what);
        Require(param, ScalarType.BFloat16, "param");
        long n = master.NumberOfElements;
        IntPtr pm = Pointers.Data(master), pg = Pointers.Data(grad), p1 = Pointers.Data(expAvg), p2 = Pointers.Data(expAvgSq),
            pp = Pointers.Data(param), pc = Pointers.Data(coef);
        float d = (float)decay, b1 = (float)beta1, b2 = (float)beta2, e = (float)eps2, s = (float)step;
        void** args = stackalloc void*[] { &pm, &pg, &p1, &p2, &pp, &pc, &n, &decayEnd, &d, &b1, &b2, &e, &s };
        Launch(Kernels.AdamW, (uint)Math.Min(132L * 16, (n + 1023) / 1024), 1024, args);
    }
}

/// <summary>Device addresses of tensors, through LibTorchSharp's export (TorchSharp has no managed accessor).</summary>
internal static partial class Pointers
{
    /// <summary>The address of <paramref name="tensor"/>'s first element (storage offset included).</summary>
    public static IntPtr Data(Tensor tensor) => THSTensor_data(tensor.Handle);

    [LibraryImport("LibTorchSharp")]
    private static partial IntPtr THSTensor_data(IntPtr tensor);
}
