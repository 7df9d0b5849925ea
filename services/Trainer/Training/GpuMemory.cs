using System.Runtime.InteropServices;

namespace FunctionGemma.Trainer.Training;

/// <summary>
/// Device memory in use on one GPU as nvidia-smi reports it (the caching allocator's reservations included), read
/// through NVML, which ships with the driver. TorchSharp exposes no CUDA memory statistics; NVML needs the physical
/// index, because CUDA_VISIBLE_DEVICES does not renumber NVML devices.
/// </summary>
public static partial class GpuMemory
{
    [StructLayout(LayoutKind.Sequential)]
    struct NvmlMemory { public ulong Total, Free, Used; }

    const string Lib = "libnvidia-ml.so.1";
    [LibraryImport(Lib)] private static partial int nvmlInit_v2();
    [LibraryImport(Lib)] private static partial int nvmlDeviceGetHandleByIndex_v2(uint index, out IntPtr device);
    [LibraryImport(Lib)] private static partial int nvmlDeviceGetMemoryInfo(IntPtr device, out NvmlMemory memory);

    static IntPtr _device;
    static bool _unavailable;

    /// <summary>GiB in use on GPU <paramref name="physicalIndex"/>, or 0 when NVML is not there (CPU machines).</summary>
    public static double UsedGib(int physicalIndex)
    {
        if (_unavailable || physicalIndex < 0) return 0;
        try
        {
            if (_device == IntPtr.Zero && (nvmlInit_v2() != 0 || nvmlDeviceGetHandleByIndex_v2((uint)physicalIndex, out _device) != 0))
            {
                _unavailable = true;
                return 0;
            }
            return nvmlDeviceGetMemoryInfo(_device, out var m) == 0 ? m.Used / (double)(1L << 30) : 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
            return 0;
        }
    }
}
