using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using FunctionGemma.Protos;
using FunctionGemma.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FunctionGemma.Registry.Store;

/// <summary>
/// Model versions: immutable manifests in Redis (<see cref="RedisKeys.Model"/>) whose files are blobs in the
/// <see cref="BlobStore"/>; aliases per name in a Redis hash, moved with one HSET so readers never see a half move.
/// The version id is the sha256 of the canonical manifest, so registering identical content twice yields one version.
/// </summary>
public sealed class ModelRegistry(BlobStore blobs, IConnectionMultiplexer redis, TimeProvider time, ILogger<ModelRegistry> logger,
    IOptions<RegistryOptions> options)
{
    private readonly JsonRecordStore<ModelVersion> records = RecordStores.Models(redis);

    public BlobStore Blobs => blobs;

    /// <summary>Registers every regular file under <paramref name="directory"/> (dot-folders skipped) with the header's metadata.</summary>
    public async Task<ModelVersion> RegisterDirectoryAsync(RegisterHeader header, string directory, CancellationToken ct)
    {
        ValidateHeader(header);
        if (string.IsNullOrWhiteSpace(directory) || !Path.IsPathFullyQualified(directory))
            throw new ArgumentException($"Directory '{directory}' must be an absolute path readable by the Registry.");
        directory = Path.GetFullPath(directory);
        var roots = options.Value.ImportRoots.Where(r => r.Length > 0).Select(r => Path.TrimEndingDirectorySeparator(Path.GetFullPath(r))).ToList();
        if (roots.Count > 0 && !roots.Any(r => directory == r || directory.StartsWith(r + Path.DirectorySeparatorChar, StringComparison.Ordinal)))
            throw new UnauthorizedAccessException($"Directory '{directory}' is outside Registry:ImportRoots ({string.Join(", ", roots)}); stream it with RegisterModel instead, or add its root.");
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Model directory '{directory}' does not exist on the Registry's machine.");
        using var activity = RegistryTelemetry.Start("registry.register_directory", header.Lineage?.Traceparent);
        activity?.SetTag("model.name", header.Name);
        activity?.SetTag("model.directory", directory);

        var files = new List<ModelFile>();
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(directory, file).Replace('\\', '/');
            if (relative.Split('/').Any(s => s.StartsWith('.'))) continue;
            var (sha, size, deduplicated) = await blobs.ImportAsync(file, ct);
            Count(size, deduplicated);
            files.Add(new ModelFile { Path = relative, Sha256 = sha, Size = size });
        }
        if (files.Count == 0) throw new ArgumentException($"Model directory '{directory}' has no files to register.");
        return await CreateVersionAsync(header, files, ct);
    }

    /// <summary>
    /// Registers a version from a header and the files' bytes, streamed in header order (path, then chunks in offset order).
    /// A declared file whose sha256 is already stored may be left out of the stream.
    /// </summary>
    public async Task<ModelVersion> RegisterUploadAsync(RegisterHeader header, IAsyncEnumerable<FileChunk> chunks, CancellationToken ct)
    {
        ValidateHeader(header);
        if (header.Files.Count == 0) throw new ArgumentException("RegisterHeader.files is empty: declare every file (path, size, optional sha256) before sending chunks.");
        var declared = new Dictionary<string, ModelFile>(StringComparer.Ordinal);
        foreach (var f in header.Files)
        {
            ModelNames.ValidateFilePath(f.Path);
            if (f.Size < 0) throw new ArgumentException($"File '{f.Path}' declares a negative size.");
            if (f.Sha256.Length > 0 && !BlobStore.IsSha256(f.Sha256)) throw new ArgumentException($"File '{f.Path}' declares sha256 '{f.Sha256}', which is not 64 lowercase hex digits.");
            if (!declared.TryAdd(f.Path, f)) throw new ArgumentException($"File '{f.Path}' is declared twice in the header.");
        }
        using var activity = RegistryTelemetry.Start("registry.register_upload", header.Lineage?.Traceparent);
        activity?.SetTag("model.name", header.Name);

        var stored = new Dictionary<string, ModelFile>(StringComparer.Ordinal);
        BlobWriter? writer = null;
        ModelFile? current = null;
        try
        {
            await foreach (var chunk in chunks.WithCancellation(ct))
            {
                if (current is null || chunk.Path != current.Path)
                {
                    if (writer is not null) await CompleteAsync();
                    if (!declared.TryGetValue(chunk.Path, out current)) throw new ArgumentException($"Chunk for '{chunk.Path}', which the header does not declare.");
                    if (stored.ContainsKey(chunk.Path)) throw new ArgumentException($"File '{chunk.Path}' was sent twice; send each file's chunks contiguously.");
                    writer = blobs.BeginWrite();
                }
                if (chunk.Offset != writer!.Length) throw new ArgumentException($"Chunk of '{chunk.Path}' at offset {chunk.Offset}, expected {writer.Length}: send chunks in order without gaps.");
                if (writer.Length + chunk.Data.Length > current.Size) throw new ArgumentException($"File '{chunk.Path}' is longer than its declared size {current.Size}.");
                await writer.WriteAsync(chunk.Data.Memory, ct);
            }
            if (writer is not null) await CompleteAsync();
        }
        finally
        {
            if (writer is not null) await writer.DisposeAsync();
        }

        foreach (var f in declared.Values.Where(f => !stored.ContainsKey(f.Path)))
        {
            if (f.Size == 0) stored[f.Path] = await StoreEmptyAsync(f, ct);
            else if (f.Sha256.Length > 0 && blobs.Contains(f.Sha256, f.Size)) { Count(f.Size, deduplicated: true); stored[f.Path] = f.Clone(); }
            else throw new ArgumentException($"No bytes were sent for '{f.Path}' and its blob is not in the store: send its chunks.");
        }
        return await CreateVersionAsync(header, stored.Values, ct);

        async Task CompleteAsync()
        {
            if (writer!.Length != current!.Size) throw new ArgumentException($"File '{current.Path}' has {writer.Length} bytes, the header declared {current.Size}.");
            var (sha, size, deduplicated) = await writer.CommitAsync(current.Sha256.Length > 0 ? current.Sha256 : null, ct);
            await writer.DisposeAsync();
            writer = null;
            Count(size, deduplicated);
            stored[current.Path] = new ModelFile { Path = current.Path, Sha256 = sha, Size = size };
        }
    }

    private async Task<ModelFile> StoreEmptyAsync(ModelFile f, CancellationToken ct)
    {
        await using var w = blobs.BeginWrite();
        var (sha, _, _) = await w.CommitAsync(f.Sha256.Length > 0 ? f.Sha256 : null, ct);
        return new ModelFile { Path = f.Path, Sha256 = sha, Size = 0 };
    }

    private static void Count(long size, bool deduplicated)
    {
        if (deduplicated) RegistryTelemetry.BlobsDeduplicated.Add(1);
        else RegistryTelemetry.BytesStored.Add(size);
    }

    /// <summary>Refuses a bad header before any byte is stored.</summary>
    private static void ValidateHeader(RegisterHeader header)
    {
        ModelNames.ValidateName(header.Name);
        foreach (var alias in header.Aliases) ModelNames.ValidateAlias(alias);
        if (header.TrainSpecJson.Length > 0)
        {
            try { using var _ = System.Text.Json.JsonDocument.Parse(header.TrainSpecJson); }
            catch (System.Text.Json.JsonException e) { throw new ArgumentException($"RegisterHeader.train_spec_json is not JSON: {e.Message}"); }
        }
    }

    private async Task<ModelVersion> CreateVersionAsync(RegisterHeader header, IEnumerable<ModelFile> files, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var version = new ModelVersion
        {
            Name = header.Name,
            BaseModel = header.BaseModel,
            Dataset = header.Dataset,
            TrainSpecJson = header.TrainSpecJson,
            Lineage = header.Lineage?.Clone() ?? new Lineage(),
        };
        version.Files.AddRange(files.OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => f.Clone()));
        version.EvalReportIds.AddRange(header.EvalReportIds);
        foreach (var (k, v) in header.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal)) version.Metrics[k] = v;
        version.Lineage.Created ??= Timestamp.FromDateTimeOffset(now);
        version.Version = ContentId(version);
        version.Created = Timestamp.FromDateTimeOffset(now);

        var db = redis.GetDatabase();
        var created = await records.TryCreateAsync(version.Version, version, now, ct);
        var existing = created ? version : await records.GetAsync(version.Version, ct);
        var tx = db.CreateTransaction();
        _ = tx.SortedSetAddAsync(RedisKeys.ModelVersionsOf(header.Name), existing.Version, existing.Created.ToDateTimeOffset().ToUnixTimeMilliseconds());
        _ = tx.SetAddAsync(RedisKeys.ModelNames, header.Name);
        var aliases = header.Aliases.Prepend(ModelNames.Latest).Distinct().Select(a => new HashEntry(a, existing.Version)).ToArray();
        _ = tx.HashSetAsync(RedisKeys.ModelAliases(header.Name), aliases);
        await tx.ExecuteAsync();

        RegistryTelemetry.VersionsRegistered.Add(1, new KeyValuePair<string, object?>("new", created));
        System.Diagnostics.Activity.Current?.SetTag("model.version", existing.Version);
        logger.LogInformation("Registered {Name} version {Version} ({Files} files, {Bytes} bytes, new: {New})",
            existing.Name, existing.Version, existing.Files.Count, existing.Files.Sum(f => f.Size), created);
        return await WithAliasesAsync(existing);
    }

    /// <summary>sha256 of the manifest without its id, creation time and aliases (which are not content).</summary>
    private static string ContentId(ModelVersion v)
    {
        var identity = v.Clone();
        identity.Version = "";
        identity.Created = null;
        identity.Aliases.Clear();
        if (identity.Lineage is not null) identity.Lineage.Created = null;
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ProtoJson.Write(identity))));
    }

    /// <summary>A version by id, "NAME:ALIAS", or "NAME" (its latest).</summary>
    public async Task<ModelVersion> GetAsync(string reference, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(reference)) throw new ArgumentException("Model reference is empty: pass a version id, NAME:ALIAS or NAME.");
        var colon = reference.LastIndexOf(':');
        if (colon < 0 && BlobStore.IsSha256(reference) && await records.FindAsync(reference, ct) is { } byId) return await WithAliasesAsync(byId);
        var (name, alias) = colon < 0 ? (reference, ModelNames.Latest) : (reference[..colon], reference[(colon + 1)..]);
        return await ResolveAsync(name, alias, ct) ?? throw new KeyNotFoundException(
            $"No model version '{reference}'. Versions are 64-hex ids or NAME:ALIAS; list them with ListModels (fg models).");
    }

    /// <summary>
    /// A name's version for a revision as Hugging Face clients send it: an alias, a version id (or its 40-hex prefix,
    /// like a git commit), or "main" meaning "latest" unless an alias "main" exists. Null when absent.
    /// </summary>
    public async Task<ModelVersion?> ResolveAsync(string name, string revision, CancellationToken ct)
    {
        var db = redis.GetDatabase();
        var id = (string?)await db.HashGetAsync(RedisKeys.ModelAliases(name), revision);
        if (id is null && revision == "main") id = await db.HashGetAsync(RedisKeys.ModelAliases(name), ModelNames.Latest);
        if (id is null && revision.Length >= 40 && revision.All(char.IsAsciiHexDigitLower))
        {
            foreach (var v in await db.SortedSetRangeByRankAsync(RedisKeys.ModelVersionsOf(name)))
                if (((string)v!).StartsWith(revision, StringComparison.Ordinal)) { id = v; break; }
        }
        if (id is null) return null;
        var version = await records.FindAsync(id, ct);
        return version is null || version.Name != name ? null : await WithAliasesAsync(version);
    }

    public async Task<bool> NameExistsAsync(string name) => await redis.GetDatabase().SetContainsAsync(RedisKeys.ModelNames, name);

    /// <summary>Points NAME:ALIAS at a version of that name (one HSET: atomic for every reader).</summary>
    public async Task<ModelVersion> SetAliasAsync(string name, string alias, string version, CancellationToken ct)
    {
        ModelNames.ValidateName(name);
        ModelNames.ValidateAlias(alias);
        var target = await GetAsync(version, ct);
        if (target.Name != name) throw new ArgumentException($"Version {target.Version} belongs to model '{target.Name}', not '{name}'.");
        var previous = (string?)await redis.GetDatabase().HashGetAsync(RedisKeys.ModelAliases(name), alias);
        await redis.GetDatabase().HashSetAsync(RedisKeys.ModelAliases(name), alias, target.Version);
        logger.LogInformation("Alias {Name}:{Alias} moved from {Previous} to {Version}", name, alias, previous ?? "(none)", target.Version);
        return await WithAliasesAsync(target);
    }

    /// <summary>Newest first, filtered by name, alias and metric conditions such as "tool_accuracy&gt;=0.9,loss&lt;1".</summary>
    public async Task<IReadOnlyList<ModelVersion>> ListAsync(string? name, string? alias, string? metricFilter, int limit, CancellationToken ct)
    {
        var conditions = MetricFilter.Parse(metricFilter);
        var db = redis.GetDatabase();
        IEnumerable<RedisValue> ids;
        if (!string.IsNullOrEmpty(name) && !string.IsNullOrEmpty(alias))
            ids = (await db.HashGetAsync(RedisKeys.ModelAliases(name), alias)) is { IsNull: false } v ? [v] : [];
        else
            ids = await db.SortedSetRangeByRankAsync(string.IsNullOrEmpty(name) ? RedisKeys.ModelIndex : RedisKeys.ModelVersionsOf(name), 0, -1, Order.Descending);
        var result = new List<ModelVersion>();
        foreach (var id in ids)
        {
            if (await records.FindAsync(id!, ct) is not { } m) continue;
            if (!conditions.All(c => c.Matches(m.Metrics))) continue;
            var withAliases = await WithAliasesAsync(m);
            if (!string.IsNullOrEmpty(alias) && !withAliases.Aliases.Contains(alias)) continue;
            result.Add(withAliases);
            if (limit > 0 && result.Count >= limit) break;
        }
        return result;
    }

    private async Task<ModelVersion> WithAliasesAsync(ModelVersion v)
    {
        var copy = v.Clone();
        copy.Aliases.Clear();
        var entries = await redis.GetDatabase().HashGetAllAsync(RedisKeys.ModelAliases(v.Name));
        copy.Aliases.AddRange(entries.Where(e => e.Value == v.Version).Select(e => (string)e.Name!).Order(StringComparer.Ordinal));
        return copy;
    }

    /// <summary>
    /// The version's files from (<paramref name="fromPath"/>, <paramref name="offset"/>) on, in chunks. Each file is
    /// hashed as it is read (the bytes before a resume offset included) and its last chunk is released only once the
    /// sha256 matches the manifest: a corrupt blob ends the stream with <see cref="CorruptBlobException"/> and is never
    /// delivered whole. Reading and hashing the next chunk overlaps with the caller sending the current one.
    /// </summary>
    public async IAsyncEnumerable<ModelChunk> ReadAsync(ModelVersion version, string? fromPath, long offset, int chunkBytes,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var files = version.Files.ToList();
        var start = 0;
        if (!string.IsNullOrEmpty(fromPath))
        {
            start = files.FindIndex(f => f.Path == fromPath);
            if (start < 0) throw new ArgumentException($"Resume path '{fromPath}' is not a file of version {version.Version}.");
            if (offset < 0 || offset > files[start].Size) throw new ArgumentException($"Resume offset {offset} is outside '{fromPath}' ({files[start].Size} bytes).");
        }
        else if (offset != 0) throw new ArgumentException("A resume offset needs the path it applies to.");

        // Two buffers: the caller serializes one while the next is read into the other.
        var buffers = new[] { new byte[chunkBytes], new byte[chunkBytes] };
        for (var i = start; i < files.Count; i++)
        {
            var file = files[i];
            var position = i == start ? offset : 0;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using var stream = OpenChecked(file);
            if (position > 0) await HashPrefixAsync(stream, position, hash, buffers[0], ct);
            var current = 0;
            var pending = ReadChunkAsync(stream, buffers[current], hash, ct);
            try
            {
                var first = true;
                while (true)
                {
                    var n = await pending;
                    var last = position + n >= file.Size;
                    if (last) Verify(file, hash);
                    else if (n == 0) throw Corrupt(file, new CorruptBlobException(file.Sha256, $"it ends at byte {position}, manifest says {file.Size}"));
                    else pending = ReadChunkAsync(stream, buffers[1 - current], hash, ct);
                    yield return new ModelChunk
                    {
                        Path = file.Path,
                        Offset = position,
                        Data = UnsafeByteOperations.UnsafeWrap(buffers[current].AsMemory(0, n)),
                        File = first ? file : null,
                    };
                    RegistryTelemetry.BytesPulled.Add(n);
                    position += n;
                    first = false;
                    if (last) break;
                    current = 1 - current;
                }
            }
            finally
            {
                // A caller that stops early must not leave a read running against the disposed stream and hash.
                if (!pending.IsCompleted) try { await pending; } catch (Exception) { }
            }
        }
    }

    private FileStream OpenChecked(ModelFile file)
    {
        var path = blobs.PathOf(file.Sha256);
        if (!File.Exists(path)) throw Corrupt(file, new CorruptBlobException(file.Sha256, "the file is missing"));
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous);
        if (stream.Length == file.Size) return stream;
        stream.Dispose();
        throw Corrupt(file, new CorruptBlobException(file.Sha256, $"size {new FileInfo(path).Length}, manifest says {file.Size}"));
    }

    private static async Task HashPrefixAsync(FileStream stream, long length, IncrementalHash hash, byte[] buffer, CancellationToken ct)
    {
        for (long left = length; left > 0;)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct);
            if (n == 0) break;
            hash.AppendData(buffer, 0, n);
            left -= n;
        }
    }

    private static async Task<int> ReadChunkAsync(FileStream stream, byte[] buffer, IncrementalHash hash, CancellationToken ct)
    {
        var n = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct);
        hash.AppendData(buffer, 0, n);
        return n;
    }

    private void Verify(ModelFile file, IncrementalHash hash)
    {
        var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (actual != file.Sha256) throw Corrupt(file, new CorruptBlobException(file.Sha256, $"its bytes hash to {actual}"));
    }

    private CorruptBlobException Corrupt(ModelFile file, CorruptBlobException e)
    {
        RegistryTelemetry.CorruptBlobs.Add(1);
        logger.LogError("Corrupt blob {Sha256} for file {Path}: {Message}", file.Sha256, file.Path, e.Message);
        return e;
    }

    /// <summary>Opens one file of a version after checking its blob's hash; <see cref="CorruptBlobException"/> otherwise.</summary>
    public async Task<FileStream> OpenVerifiedAsync(ModelFile file, CancellationToken ct)
    {
        try { return await blobs.OpenVerifiedAsync(file.Sha256, file.Size, ct); }
        catch (CorruptBlobException e) { throw Corrupt(file, e); }
    }
}

/// <summary>One metric condition of a ListModels filter, e.g. <c>tool_accuracy&gt;=0.9</c>.</summary>
public sealed record MetricFilter(string Metric, string Op, double Value)
{
    private static readonly string[] Ops = [">=", "<=", "!=", "==", ">", "<", "="];

    public bool Matches(IDictionary<string, double> metrics) => metrics.TryGetValue(Metric, out var v) && Op switch
    {
        ">=" => v >= Value, "<=" => v <= Value, ">" => v > Value, "<" => v < Value, "!=" => v != Value, _ => v == Value,
    };

    /// <summary>Conditions separated by ',' or ' and '; an empty filter has none.</summary>
    public static IReadOnlyList<MetricFilter> Parse(string? filter)
    {
        if (string.IsNullOrWhiteSpace(filter)) return [];
        var result = new List<MetricFilter>();
        foreach (var part in filter.Replace(" and ", ",", StringComparison.OrdinalIgnoreCase).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var op = Ops.Select(o => (o, i: part.IndexOf(o, StringComparison.Ordinal))).Where(x => x.i > 0).OrderBy(x => x.i).ThenByDescending(x => x.o.Length).FirstOrDefault();
            if (op.o is null || !double.TryParse(part[(op.i + op.o.Length)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                throw new ArgumentException($"Metric filter '{part}' is not METRIC OP NUMBER (OP one of >=, <=, >, <, ==, !=), e.g. tool_accuracy>=0.9.");
            result.Add(new MetricFilter(part[..op.i].Trim(), op.o, value));
        }
        return result;
    }
}
