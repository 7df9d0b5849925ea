using System.Security.Cryptography;
using FunctionGemma.Protos;
using Google.Protobuf;

namespace FunctionGemma.Experiments;

/// <summary>Streams a model directory into the Registry (RegisterModel: a header with every file's sha256, then the bytes).</summary>
public static class ModelUpload
{
    private const int ChunkBytes = 1 << 20;

    /// <summary>Registers the files under <paramref name="directory"/> that <paramref name="include"/> accepts; the header's file list is filled in here.</summary>
    public static async Task<ModelVersion> RegisterAsync(Registry.RegistryClient registry, string directory, RegisterHeader header,
        Func<string, bool> include, CancellationToken ct)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Model directory '{directory}' does not exist.");
        var files = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(directory, f).Replace('\\', '/'))
            .Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal) && include(f))
            .Order(StringComparer.Ordinal).ToList();
        header.Files.Clear();
        foreach (var f in files)
        {
            await using var s = File.OpenRead(Path.Combine(directory, f));
            header.Files.Add(new ModelFile { Path = f, Size = s.Length, Sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(s, ct)) });
        }

        using var call = registry.RegisterModel(cancellationToken: ct);
        await call.RequestStream.WriteAsync(new RegisterModelRequest { Header = header }, ct);
        var buffer = new byte[ChunkBytes];
        foreach (var f in files)
        {
            await using var s = File.OpenRead(Path.Combine(directory, f));
            long offset = 0;
            int read;
            while ((read = await s.ReadAsync(buffer, ct)) > 0)
            {
                await call.RequestStream.WriteAsync(new RegisterModelRequest
                {
                    Chunk = new FileChunk { Path = f, Offset = offset, Data = ByteString.CopyFrom(buffer, 0, read) },
                }, ct);
                offset += read;
            }
        }
        await call.RequestStream.CompleteAsync();
        return await call.ResponseAsync;
    }
}
