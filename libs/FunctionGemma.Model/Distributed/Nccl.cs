using System.Runtime.InteropServices;

namespace FunctionGemma.Model.Distributed;

/// <summary>NCCL's 128-byte communicator id, passed by value to <c>ncclCommInitRank</c>.</summary>
[StructLayout(LayoutKind.Sequential, Size = Bytes)]
public unsafe struct NcclUniqueId
{
    /// <summary>Size of the id in bytes (NCCL_UNIQUE_ID_BYTES).</summary>
    public const int Bytes = 128;

    fixed byte _internal[Bytes];

    /// <summary>The id's bytes, e.g. to hand to the other ranks.</summary>
    public readonly byte[] ToArray()
    {
        var bytes = new byte[Bytes];
        fixed (byte* p = _internal) new ReadOnlySpan<byte>(p, Bytes).CopyTo(bytes);
        return bytes;
    }

    /// <summary>An id from the bytes another rank published.</summary>
    /// <exception cref="ArgumentException">The array is not 128 bytes long.</exception>
    public static NcclUniqueId FromArray(byte[] bytes)
    {
        if (bytes.Length != Bytes) throw new ArgumentException($"An NCCL unique id has {Bytes} bytes, not {bytes.Length}.", nameof(bytes));
        var id = new NcclUniqueId();
        bytes.CopyTo(new Span<byte>(id._internal, Bytes));
        return id;
    }
}

/// <summary>NCCL element types (<c>ncclDataType_t</c>).</summary>
public enum NcclDataType
{
    /// <summary>ncclFloat16.</summary>
    Float16 = 6,
    /// <summary>ncclFloat32.</summary>
    Float32 = 7,
    /// <summary>ncclFloat64.</summary>
    Float64 = 8,
    /// <summary>ncclBfloat16.</summary>
    Bfloat16 = 9,
}

/// <summary>NCCL reductions (<c>ncclRedOp_t</c>).</summary>
public enum NcclRedOp
{
    /// <summary>ncclSum.</summary>
    Sum = 0,
    /// <summary>ncclAvg.</summary>
    Avg = 4,
}

/// <summary>A failed NCCL call, with NCCL's own description of the result code.</summary>
public sealed class NcclException(string call, int result, string description)
    : Exception($"{call} failed with NCCL result {result}: {description}")
{
    /// <summary>The <c>ncclResult_t</c>.</summary>
    public int Result { get; } = result;
}

/// <summary>The NCCL entry points the trainer uses, bound to <c>libnccl.so.2</c> (on the GPU machine it ships with PyTorch).</summary>
public static partial class Nccl
{
    const string Lib = "libnccl.so.2";

    [LibraryImport(Lib)] private static partial int ncclGetUniqueId(out NcclUniqueId uniqueId);
    [LibraryImport(Lib)] private static partial int ncclCommInitRank(out IntPtr comm, int nranks, NcclUniqueId commId, int rank);
    [LibraryImport(Lib)] private static partial int ncclAllReduce(IntPtr sendbuff, IntPtr recvbuff, nuint count, NcclDataType datatype, NcclRedOp op, IntPtr comm, IntPtr stream);
    [LibraryImport(Lib)] private static partial int ncclReduceScatter(IntPtr sendbuff, IntPtr recvbuff, nuint recvcount, NcclDataType datatype, NcclRedOp op, IntPtr comm, IntPtr stream);
    [LibraryImport(Lib)] private static partial int ncclAllGather(IntPtr sendbuff, IntPtr recvbuff, nuint sendcount, NcclDataType datatype, IntPtr comm, IntPtr stream);
    [LibraryImport(Lib)] private static partial int ncclCommDestroy(IntPtr comm);
    [LibraryImport(Lib)] private static partial int ncclCommAbort(IntPtr comm);
    [LibraryImport(Lib)] private static partial int ncclCommGetAsyncError(IntPtr comm, out int asyncError);
    [LibraryImport(Lib)] private static partial IntPtr ncclGetErrorString(int result);
    [LibraryImport(Lib)] private static partial int ncclGetVersion(out int version);

    /// <summary>NCCL's text for a result code.</summary>
    public static string ErrorString(int result) => Marshal.PtrToStringAnsi(ncclGetErrorString(result)) ?? $"result {result}";

    static void Check(int result, string call)
    {
        if (result != 0) throw new NcclException(call, result, ErrorString(result));
    }

    /// <summary>The library's version code (e.g. 22805 for 2.28.5).</summary>
    public static int Version() { Check(ncclGetVersion(out var v), nameof(ncclGetVersion)); return v; }

    /// <summary>A fresh communicator id (rank 0 creates it; the others receive it through a rendezvous).</summary>
    public static NcclUniqueId GetUniqueId() { Check(ncclGetUniqueId(out var id), nameof(ncclGetUniqueId)); return id; }

    /// <summary>Joins the communicator <paramref name="id"/> as <paramref name="rank"/> of <paramref name="worldSize"/> on the current CUDA device; blocks until every rank joined.</summary>
    public static IntPtr CommInitRank(int worldSize, NcclUniqueId id, int rank)
    {
        Check(ncclCommInitRank(out var comm, worldSize, id, rank), nameof(ncclCommInitRank));
        return comm;
    }

    /// <summary>In-place or out-of-place all-reduce of <paramref name="count"/> elements of device memory, enqueued on <paramref name="stream"/>.</summary>
    public static void AllReduce(IntPtr send, IntPtr recv, long count, NcclDataType type, NcclRedOp op, IntPtr comm, IntPtr stream) =>
        Check(ncclAllReduce(send, recv, (nuint)count, type, op, comm, stream), nameof(ncclAllReduce));

    /// <summary>Reduce-scatter: rank r receives the reduction of every rank's slice r (<paramref name="recvCount"/> elements each).</summary>
    public static void ReduceScatter(IntPtr send, IntPtr recv, long recvCount, NcclDataType type, NcclRedOp op, IntPtr comm, IntPtr stream) =>
        Check(ncclReduceScatter(send, recv, (nuint)recvCount, type, op, comm, stream), nameof(ncclReduceScatter));

    /// <summary>All-gather: every rank receives all ranks' <paramref name="sendCount"/> elements, in rank order.</summary>
    public static void AllGather(IntPtr send, IntPtr recv, long sendCount, NcclDataType type, IntPtr comm, IntPtr stream) =>
        Check(ncclAllGather(send, recv, (nuint)sendCount, type, comm, stream), nameof(ncclAllGather));

    /// <summary>The communicator's asynchronous error (0 when healthy).</summary>
    public static int AsyncError(IntPtr comm) { Check(ncclCommGetAsyncError(comm, out var e), nameof(ncclCommGetAsyncError)); return e; }

    /// <summary>Frees a communicator after its operations completed.</summary>
    public static void CommDestroy(IntPtr comm) => Check(ncclCommDestroy(comm), nameof(ncclCommDestroy));

    /// <summary>Frees a communicator, abandoning pending operations (unblocks a rank waiting on a dead peer).</summary>
    public static void CommAbort(IntPtr comm) => Check(ncclCommAbort(comm), nameof(ncclCommAbort));
}
