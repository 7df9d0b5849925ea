using System.Security.Cryptography;

namespace FunctionGemma.Registry.Store;

/// <summary>A blob whose bytes no longer hash to its name: it is reported and never served.</summary>
public sealed class CorruptBlobException(string sha256, string detail)
    : IOException($"Blob {sha256} is corrupt ({detail}). Re-register the model version from its source to repair the store.")
{
    public string Sha256 { get; } = sha256;
}

/// <summary>
/// Content-addressed files on disk: <c>ROOT/blobs/sha256/ab/abcdef…</c>. A blob is written to a temporary file while
/// it is hashed and moved into place only when its hash is known, so the store never holds a partial blob and two
/// writers of the same content end with one file.
/// </summary>
public sealed class BlobStore
{
    private const int BufferSize = 1 << 20;
    private readonly string blobs;
    private readonly string incoming;

    public BlobStore(string root)
    {
        Root = Path.GetFullPath(root);
        blobs = Path.Combine(Root, "blobs", "sha256");
        incoming = Path.Combine(Root, "incoming");
        Directory.CreateDirectory(blobs);
        Directory.CreateDirectory(incoming);
    }

    public string Root { get; }

    public string PathOf(string sha256)
    {
        if (!IsSha256(sha256)) throw new ArgumentException($"'{sha256}' is not a lowercase hex sha256.");
        return Path.Combine(blobs, sha256[..2], sha256);
    }

    public bool Contains(string sha256, long size)
    {
        var info = new FileInfo(PathOf(sha256));
        return info.Exists && info.Length == size;
    }

    /// <summary>A temporary file to write one blob into; <see cref="BlobWriter.CommitAsync"/> names it by its hash.</summary>
    public BlobWriter BeginWrite() => new(this, Path.Combine(incoming, $"{Guid.NewGuid():N}.tmp"));

    /// <summary>Copies a file into the store (hashing it on the way) and returns its sha256 and size.</summary>
    public async Task<(string Sha256, long Size, bool Deduplicated)> ImportAsync(string file, CancellationToken ct)
    {
        await using var writer = BeginWrite();
        await using (var source = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan | FileOptions.Asynchronous))
            await writer.WriteFromAsync(source, ct);
        return await writer.CommitAsync(expectedSha256: null, ct);
    }

    /// <summary>Hashes the blob and throws <see cref="CorruptBlobException"/> unless its bytes still match its name and size.</summary>
    public async Task VerifyAsync(string sha256, long size, CancellationToken ct)
    {
        var path = PathOf(sha256);
        if (!File.Exists(path)) throw new CorruptBlobException(sha256, "the file is missing");
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan | FileOptions.Asynchronous);
        if (stream.Length != size) throw new CorruptBlobException(sha256, $"size {stream.Length}, manifest says {size}");
        var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
        if (actual != sha256) throw new CorruptBlobException(sha256, $"its bytes hash to {actual}");
    }

    /// <summary>Opens a blob for reading after verifying it.</summary>
    public async Task<FileStream> OpenVerifiedAsync(string sha256, long size, CancellationToken ct)
    {
        await VerifyAsync(sha256, size, ct);
        return new FileStream(PathOf(sha256), FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan | FileOptions.Asynchronous);
    }

    internal bool Adopt(string tempFile, string sha256)
    {
        var target = PathOf(sha256);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        try
        {
            // No overwrite: a concurrent writer of the same content may have won; its file is identical.
            File.Move(tempFile, target, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(target))
        {
            File.Delete(tempFile);
            return false;
        }
    }

    public static bool IsSha256(string s) => s.Length == 64 && s.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}

/// <summary>One blob being written: bytes are hashed as they arrive.</summary>
public sealed class BlobWriter : IAsyncDisposable
{
    private readonly BlobStore store;
    private readonly string tempFile;
    private readonly FileStream stream;
    private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private bool committed;

    internal BlobWriter(BlobStore store, string tempFile)
    {
        this.store = store;
        this.tempFile = tempFile;
        stream = new FileStream(tempFile, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
    }

    public long Length => stream.Length;

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        hash.AppendData(data.Span);
        await stream.WriteAsync(data, ct);
    }

    public async Task WriteFromAsync(Stream source, CancellationToken ct)
    {
        var buffer = new byte[1 << 20];
        int n;
        while ((n = await source.ReadAsync(buffer, ct)) > 0) await WriteAsync(buffer.AsMemory(0, n), ct);
    }

    /// <summary>Moves the bytes into the store under their hash; with <paramref name="expectedSha256"/>, refuses other content.</summary>
    public async Task<(string Sha256, long Size, bool Deduplicated)> CommitAsync(string? expectedSha256, CancellationToken ct)
    {
        await stream.FlushAsync(ct);
        var size = stream.Length;
        await stream.DisposeAsync();
        var sha = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (expectedSha256 is not null && expectedSha256 != sha)
            throw new ArgumentException($"Uploaded bytes hash to {sha}, but the header declared {expectedSha256}: the upload was corrupted or the header is wrong.");
        committed = true;
        var created = store.Adopt(tempFile, sha);
        return (sha, size, !created);
    }

    public async ValueTask DisposeAsync()
    {
        await stream.DisposeAsync();
        hash.Dispose();
        if (!committed) File.Delete(tempFile);
    }
}
