using System.Security.Cryptography;
using FunctionGemma.Protos;
using Google.Protobuf;
using Grpc.Core;

namespace FunctionGemma.Registry.Client;

/// <summary>Moving whole model directories between a machine and the Registry.</summary>
public static class RegistryClientExtensions
{
    /// <summary>Written last into a pulled directory; its presence with the right version id means the directory is complete.</summary>
    public const string CompleteMarker = ".registry-version";

    /// <summary>
    /// Resolves a <see cref="ModelRef"/> to a local Hugging Face model directory: a local path as is, a Registry version
    /// or alias pulled (once, resumably) into <c>cacheRoot/VERSION</c>. Checkpoints belong to the Trainer.
    /// </summary>
    public static async Task<string> ResolveToDirectoryAsync(this Protos.Registry.RegistryClient client, ModelRef model, string cacheRoot, CancellationToken ct = default)
    {
        switch (model.SourceCase)
        {
            case ModelRef.SourceOneofCase.LocalPath:
                if (!Directory.Exists(model.LocalPath)) throw new DirectoryNotFoundException($"Model directory '{model.LocalPath}' does not exist.");
                return model.LocalPath;
            case ModelRef.SourceOneofCase.RegistryVersion:
            case ModelRef.SourceOneofCase.RegistryAlias:
                var reference = model.SourceCase == ModelRef.SourceOneofCase.RegistryVersion ? model.RegistryVersion : model.RegistryAlias;
                // Aliases move: pin the version first so the cache folder names immutable content.
                var version = await client.GetModelAsync(new ModelQuery { Ref = reference }, cancellationToken: ct);
                var directory = Path.Combine(cacheRoot, version.Version);
                await client.PullToDirectoryAsync(version.Version, directory, ct);
                return directory;
            case ModelRef.SourceOneofCase.Checkpoint:
                throw new NotSupportedException("A checkpoint ModelRef is resolved by the Trainer (its run's checkpoint directory), not the Registry.");
            default:
                throw new ArgumentException("ModelRef is empty: set registry_version, registry_alias, local_path or checkpoint.");
        }
    }

    /// <summary>
    /// Pulls a version (id, NAME:ALIAS or NAME) into <paramref name="directory"/>. Files arrive as FILE.part and are
    /// renamed once their sha256 matches the manifest; an interrupted pull resumes from the bytes already on disk.
    /// </summary>
    public static async Task<ModelVersion> PullToDirectoryAsync(this Protos.Registry.RegistryClient client, string modelRef, string directory, CancellationToken ct = default)
    {
        var version = await client.GetModelAsync(new ModelQuery { Ref = modelRef }, cancellationToken: ct);
        var marker = Path.Combine(directory, CompleteMarker);
        if (File.Exists(marker) && (await File.ReadAllTextAsync(marker, ct)).Trim() == version.Version) return version;
        Directory.CreateDirectory(directory);

        for (var attempt = 1; ; attempt++)
        {
            var (fromPath, offset) = ResumePoint(version, directory);
            if (fromPath is null) break;
            try
            {
                await PullFromAsync(client, version, directory, fromPath, offset, ct);
                break;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown && attempt < 5 && !ct.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), ct);
            }
        }
        await File.WriteAllTextAsync(marker, version.Version, ct);
        return version;
    }

    /// <summary>The first file not yet complete on disk and how many of its bytes are already there.</summary>
    private static (string? Path, long Offset) ResumePoint(ModelVersion version, string directory)
    {
        foreach (var f in version.Files)
        {
            var final = new FileInfo(Path.Combine(directory, f.Path));
            if (final.Exists && final.Length == f.Size) continue;
            var part = new FileInfo(final.FullName + ".part");
            return (f.Path, part.Exists && part.Length <= f.Size ? part.Length : 0);
        }
        return (null, 0);
    }

    private static async Task PullFromAsync(Protos.Registry.RegistryClient client, ModelVersion version, string directory, string fromPath, long offset, CancellationToken ct)
    {
        using var call = client.PullModel(new PullModelRequest { Ref = version.Version, Path = fromPath, Offset = offset }, cancellationToken: ct);
        FileStream? output = null;
        IncrementalHash? hash = null;
        ModelFile? file = null;
        long expected = 0;
        // Hashing and writing one chunk overlaps with receiving the next.
        var writing = Task.CompletedTask;
        try
        {
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(ct))
            {
                if (chunk.File is not null)
                {
                    await FinishAsync();
                    file = chunk.File;
                    var part = Path.Combine(directory, file.Path) + ".part";
                    Directory.CreateDirectory(Path.GetDirectoryName(part)!);
                    hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                    output = new FileStream(part, chunk.Offset > 0 ? FileMode.OpenOrCreate : FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20, FileOptions.Asynchronous);
                    expected = chunk.Offset;
                    if (chunk.Offset > 0)
                    {
                        // Resuming: the hash must cover the bytes already on disk.
                        output.SetLength(chunk.Offset);
                        var buffer = new byte[1 << 20];
                        int n;
                        while ((n = await output.ReadAsync(buffer, ct)) > 0) hash.AppendData(buffer, 0, n);
                    }
                }
                if (output is null || file is null || chunk.Path != file.Path || chunk.Offset != expected)
                    throw new InvalidDataException($"PullModel sent a chunk of '{chunk.Path}' at {chunk.Offset} out of order.");
                expected += chunk.Data.Length;
                await writing;
                writing = HashAndWriteAsync(hash!, output, chunk.Data.Memory, ct);
            }
            await FinishAsync();
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.DataLoss && file is not null)
        {
            // The Registry found the stored blob corrupt: the bytes received so far must not seed a later resume.
            try { await writing; } catch (IOException) { }
            if (output is not null) await output.DisposeAsync();
            output = null;
            File.Delete(Path.Combine(directory, file.Path) + ".part");
            throw;
        }
        finally
        {
            try { await writing; } catch (Exception) when (output is not null) { }
            if (output is not null) await output.DisposeAsync();
            hash?.Dispose();
        }

        static async Task HashAndWriteAsync(IncrementalHash hash, FileStream output, ReadOnlyMemory<byte> data, CancellationToken ct)
        {
            await Task.Yield();
            hash.AppendData(data.Span);
            await output.WriteAsync(data, ct);
        }

        async Task FinishAsync()
        {
            if (output is null || file is null) return;
            await writing;
            var length = output.Length;
            await output.DisposeAsync();
            output = null;
            var sha = Convert.ToHexStringLower(hash!.GetHashAndReset());
            var part = Path.Combine(directory, file.Path) + ".part";
            if (length != file.Size || sha != file.Sha256)
            {
                File.Delete(part);
                throw new InvalidDataException($"Pulled '{file.Path}' has {length} bytes / sha256 {sha}; the manifest says {file.Size} / {file.Sha256}.");
            }
            File.Move(part, Path.Combine(directory, file.Path), overwrite: true);
        }
    }

    /// <summary>
    /// An HTTP handler for Registry channels that move model files: HTTP/2 stream windows large enough for multi-MiB
    /// chunks. Pass it as <c>GrpcChannelOptions.HttpHandler</c>, or from <c>ConfigurePrimaryHttpMessageHandler</c>.
    /// </summary>
    public static SocketsHttpHandler CreateBulkTransferHandler() => new()
    {
        InitialHttp2StreamWindowSize = 16 * 1024 * 1024,
        EnableMultipleHttp2Connections = true,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    };

    /// <summary>Largest PullModel message the Registry sends (its chunk size stays below the platform's 16 MiB limit).</summary>
    public const int MaxMessageBytes = 16 * 1024 * 1024;

    /// <summary>
    /// Registers a local model directory by streaming it (for callers that do not share a disk with the Registry).
    /// Hidden files are skipped, and so is every relative path <paramref name="include"/> rejects (e.g. a checkpoint's
    /// optimizer state).
    /// </summary>
    public static async Task<ModelVersion> UploadDirectoryAsync(this Protos.Registry.RegistryClient client, RegisterHeader header, string directory,
        int chunkBytes = 1 << 20, Func<string, bool>? include = null, CancellationToken ct = default)
    {
        var files = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => (Full: f, Relative: Path.GetRelativePath(directory, f).Replace('\\', '/')))
            .Where(f => !f.Relative.Split('/').Any(s => s.StartsWith('.')) && (include?.Invoke(f.Relative) ?? true))
            .OrderBy(f => f.Relative, StringComparer.Ordinal).ToList();
        header = header.Clone();
        header.Files.Clear();
        foreach (var (full, relative) in files)
        {
            await using var s = File.OpenRead(full);
            header.Files.Add(new ModelFile { Path = relative, Size = s.Length, Sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(s, ct)) });
        }
        using var call = client.RegisterModel(cancellationToken: ct);
        await call.RequestStream.WriteAsync(new RegisterModelRequest { Header = header }, ct);
        var buffer = new byte[chunkBytes];
        foreach (var (full, relative) in files)
        {
            await using var s = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan | FileOptions.Asynchronous);
            long offset = 0;
            int n;
            while ((n = await s.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct)) > 0)
            {
                await call.RequestStream.WriteAsync(new RegisterModelRequest { Chunk = new FileChunk { Path = relative, Offset = offset, Data = ByteString.CopyFrom(buffer, 0, n) } }, ct);
                offset += n;
            }
        }
        await call.RequestStream.CompleteAsync();
        return await call;
    }
}
