using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace FunctionGemma.Model.Distributed;

/// <summary>
/// The collective operations data-parallel training needs, over one process per device. Every rank calls the same
/// operations in the same order with tensors of the same shape and dtype.
/// </summary>
public interface ICollectives : IDisposable
{
    /// <summary>This process's rank, 0..<see cref="WorldSize"/>-1.</summary>
    int Rank { get; }

    /// <summary>Number of processes.</summary>
    int WorldSize { get; }

    /// <summary>Sums a contiguous tensor over all ranks, in place.</summary>
    void AllReduceSum(Tensor tensor);

    /// <summary>
    /// Sums a contiguous tensor over all ranks into this rank's slice, in place: with L elements (a multiple of
    /// <see cref="WorldSize"/>), slice r is <c>[r·L/W, (r+1)·L/W)</c>; the other slices are undefined after.
    /// </summary>
    void ReduceScatterSum(Tensor tensor);

    /// <summary>In place: every rank's slice (as in <see cref="ReduceScatterSum"/>) is copied to every rank.</summary>
    void AllGather(Tensor tensor);

    /// <summary>Abandons pending operations so that a rank blocked on a dead peer returns; the instance is unusable after.</summary>
    void Abort();
}

/// <summary>The slices of <see cref="ICollectives.ReduceScatterSum"/> and <see cref="ICollectives.AllGather"/>.</summary>
public static class CollectiveSlices
{
    /// <summary>Elements in each of the <paramref name="worldSize"/> equal slices of <paramref name="tensor"/>.</summary>
    /// <exception cref="ArgumentException">The tensor does not split evenly (padding it is the caller's job).</exception>
    public static long Length(Tensor tensor, int worldSize)
    {
        if (tensor.NumberOfElements % worldSize != 0)
            throw new ArgumentException($"{tensor.NumberOfElements} elements do not split into {worldSize} equal slices.", nameof(tensor));
        return tensor.NumberOfElements / worldSize;
    }
}

/// <summary>World size 1: every collective is the identity, no NCCL involved (CPU runs and single-GPU runs).</summary>
public sealed class SingleProcess : ICollectives
{
    /// <inheritdoc/>
    public int Rank => 0;
    /// <inheritdoc/>
    public int WorldSize => 1;
    /// <inheritdoc/>
    public void AllReduceSum(Tensor tensor) { }
    /// <inheritdoc/>
    public void ReduceScatterSum(Tensor tensor) { }
    /// <inheritdoc/>
    public void AllGather(Tensor tensor) { }
    /// <inheritdoc/>
    public void Abort() { }
    /// <inheritdoc/>
    public void Dispose() { }
}

/// <summary>
/// Collectives over an NCCL communicator on CUDA tensors, enqueued on the legacy default stream (stream 0), which is
/// the stream TorchSharp runs its kernels on, so they are ordered with the surrounding tensor operations.
/// </summary>
public sealed partial class NcclCollectives : ICollectives
{
    IntPtr _comm;

    NcclCollectives(IntPtr comm, int rank, int worldSize)
    {
        _comm = comm;
        Rank = rank;
        WorldSize = worldSize;
    }

    /// <inheritdoc/>
    public int Rank { get; }
    /// <inheritdoc/>
    public int WorldSize { get; }

    /// <summary>
    /// Creates the communicator: rank 0 makes the unique id and publishes it through <paramref name="rendezvous"/>, the
    /// others wait for it (at most <paramref name="timeout"/>), then every rank joins on <paramref name="device"/>.
    /// </summary>
    /// <exception cref="TimeoutException">The id did not arrive in time.</exception>
    public static async Task<NcclCollectives> CreateAsync(IRendezvous rendezvous, int rank, int worldSize, Device device,
        TimeSpan timeout, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        if (device.type != DeviceType.CUDA) throw new ArgumentException($"NCCL needs a CUDA device, not {device}.", nameof(device));
        // A first allocation creates the CUDA context NCCL attaches to.
        using (zeros(1, device: device)) { }
        NcclUniqueId id;
        if (rank == 0)
        {
            id = Nccl.GetUniqueId();
            await rendezvous.PublishAsync(id.ToArray(), ct);
        }
        else id = NcclUniqueId.FromArray(await rendezvous.WaitAsync(timeout, ct));
        var comm = Nccl.CommInitRank(worldSize, id, rank);
        return new NcclCollectives(comm, rank, worldSize);
    }

    /// <inheritdoc/>
    public void AllReduceSum(Tensor tensor)
    {
        var ptr = Pointer(tensor);
        Nccl.AllReduce(ptr, ptr, tensor.NumberOfElements, TypeOf(tensor.dtype), NcclRedOp.Sum, _comm, IntPtr.Zero);
    }

    /// <inheritdoc/>
    public void ReduceScatterSum(Tensor tensor)
    {
        // NCCL works in place when the receive buffer is the send buffer's own slice.
        var (ptr, slice) = (Pointer(tensor), CollectiveSlices.Length(tensor, WorldSize));
        Nccl.ReduceScatter(ptr, ptr + (nint)(Rank * slice * tensor.ElementSize), slice, TypeOf(tensor.dtype), NcclRedOp.Sum, _comm, IntPtr.Zero);
    }

    /// <inheritdoc/>
    public void AllGather(Tensor tensor)
    {
        var (ptr, slice) = (Pointer(tensor), CollectiveSlices.Length(tensor, WorldSize));
        Nccl.AllGather(ptr + (nint)(Rank * slice * tensor.ElementSize), ptr, slice, TypeOf(tensor.dtype), _comm, IntPtr.Zero);
    }

    IntPtr Pointer(Tensor tensor)
    {
        ObjectDisposedException.ThrowIf(_comm == IntPtr.Zero, this);
        if (!tensor.is_contiguous()) throw new ArgumentException("Collectives need a contiguous tensor.", nameof(tensor));
        if (tensor.device_type != DeviceType.CUDA) throw new ArgumentException($"NCCL works on CUDA tensors, not {tensor.device}.", nameof(tensor));
        return Pointers.Data(tensor);
    }

    /// <summary>The NCCL type of a tensor dtype.</summary>
    /// <exception cref="NotSupportedException">The dtype has no NCCL counterpart used here.</exception>
    public static NcclDataType TypeOf(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => NcclDataType.Float32,
        ScalarType.Float16 => NcclDataType.Float16,
        ScalarType.BFloat16 => NcclDataType.Bfloat16,
        ScalarType.Float64 => NcclDataType.Float64,
        _ => throw new NotSupportedException($"No NCCL all-reduce for {dtype}."),
    };

    /// <inheritdoc/>
    public void Abort()
    {
        var comm = Interlocked.Exchange(ref _comm, IntPtr.Zero);
        if (comm != IntPtr.Zero) Nccl.CommAbort(comm);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        var comm = Interlocked.Exchange(ref _comm, IntPtr.Zero);
        if (comm != IntPtr.Zero) Nccl.CommDestroy(comm);
    }

}

/// <summary>
/// How ranks meet: rank 0 publishes the communicator id, the other ranks wait for it. Implementations scope the id to
/// one launch of one run, so a relaunch never reads a stale id.
/// </summary>
public interface IRendezvous
{
    /// <summary>Publishes the id (rank 0).</summary>
    Task PublishAsync(byte[] id, CancellationToken ct);

    /// <summary>Waits for the id (ranks 1..N-1).</summary>
    /// <exception cref="TimeoutException">Nothing was published within <paramref name="timeout"/>.</exception>
    Task<byte[]> WaitAsync(TimeSpan timeout, CancellationToken ct);
}

/// <summary>
/// Kills a rank whose collectives stopped making progress (a peer died mid all-reduce): when <see cref="Beat"/> has
/// not been called for the timeout, the communicator is aborted and the process exits with <see cref="ExitCode"/>,
/// so the supervisor sees a failure instead of a hang.
/// </summary>
public sealed class CollectiveWatchdog : IDisposable
{
    /// <summary>Exit code of a process the watchdog ended.</summary>
    public const int ExitCode = 75;

    readonly ICollectives _collectives;
    readonly TimeSpan _timeout;
    readonly Timer _timer;
    long _lastBeat = Environment.TickCount64;

    /// <summary>Starts watching; call <see cref="Beat"/> after every completed step.</summary>
    public CollectiveWatchdog(ICollectives collectives, TimeSpan timeout, Action<string>? log = null)
    {
        _collectives = collectives;
        _timeout = timeout;
        var period = TimeSpan.FromMilliseconds(Math.Clamp(timeout.TotalMilliseconds / 4, 100, 5000));
        _timer = new Timer(_ =>
        {
            if (Environment.TickCount64 - Interlocked.Read(ref _lastBeat) <= _timeout.TotalMilliseconds) return;
            log?.Invoke($"rank {_collectives.Rank}: no progress for {_timeout.TotalSeconds:0}s; aborting the communicator");
            try { _collectives.Abort(); } catch (Exception) { /* exiting anyway */ }
            Environment.Exit(ExitCode);
        }, null, period, period);
    }

    /// <summary>Records progress.</summary>
    public void Beat() => Interlocked.Exchange(ref _lastBeat, Environment.TickCount64);

    /// <inheritdoc/>
    public void Dispose() => _timer.Dispose();
}
