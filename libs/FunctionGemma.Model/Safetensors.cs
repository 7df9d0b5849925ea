using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace FunctionGemma.Model;

/// <summary>Thrown when a safetensors file or index is malformed or holds a dtype this reader does not take.</summary>
public sealed class SafetensorsFormatException(string message) : Exception(message);

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">Key, e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="DType">Safetensors dtype name: <c>BF16</c>, <c>F16</c> or <c>F32</c>.</param>
/// <param name="Shape">Dimensions.</param>
/// <param name="Begin">Byte offset of the data, from the end of the header.</param>
/// <param name="End">Byte offset one past the data.</param>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End);

/// <summary>
/// Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header, raw
/// little-endian tensor bytes) and sharded checkpoints (<c>model.safetensors.index.json</c>).
/// </summary>
public static class Safetensors
{
    const int CopyBuffer = 1 << 20;

    /// <summary>The safetensors dtype name of a torch dtype.</summary>
    /// <exception cref="SafetensorsFormatException">The dtype is not bf16, fp16 or fp32.</exception>
    public static string DTypeName(ScalarType t) => t switch
    {
        ScalarType.BFloat16 => "BF16",
        ScalarType.Float16 => "F16",
        ScalarType.Float32 => "F32",
        ScalarType.Int64 => "I64",
        _ => throw new SafetensorsFormatException($"dtype {t} cannot be written; use bf16, fp16 or fp32."),
    };

    static ScalarType ScalarOf(string name, string file) => name switch
    {
        "BF16" => ScalarType.BFloat16,
        "F16" => ScalarType.Float16,
        "F32" => ScalarType.Float32,
        "I64" => ScalarType.Int64,
        _ => throw new SafetensorsFormatException($"{file}: dtype {name} is not supported; expected BF16, F16 or F32."),
    };

    /// <summary>Reads the header of one safetensors file.</summary>
    public static (IReadOnlyList<SafetensorsEntry> Entries, IReadOnlyDictionary<string, string> Metadata, long DataStart) ReadHeader(string file)
    {
        using var fs = File.OpenRead(file);
        Span<byte> lenBytes = stackalloc byte[8];
        fs.ReadExactly(lenBytes);
        long len = (long)BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (len <= 0 || len > 100_000_000 || len > fs.Length - 8) throw new SafetensorsFormatException($"{file}: header length {len} is not valid; the file is not safetensors or is truncated.");
        var header = new byte[len];
        fs.ReadExactly(header);
        var root = JsonNode.Parse(header) as JsonObject ?? throw new SafetensorsFormatException($"{file}: header is not a JSON object.");
        var entries = new List<SafetensorsEntry>();
        var meta = new Dictionary<string, string>();
        foreach (var (key, node) in root)
        {
            if (key == "__metadata__")
            {
                if (node is JsonObject m) foreach (var (k, v) in m) meta[k] = v?.GetValue<string>() ?? "";
                continue;
            }
            var o = node as JsonObject ?? throw new SafetensorsFormatException($"{file}: entry '{key}' is not an object.");
            var offs = o["data_offsets"]!.AsArray();
            entries.Add(new SafetensorsEntry(key, o["dtype"]!.GetValue<string>(),
                o["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray(), offs[0]!.GetValue<long>(), offs[1]!.GetValue<long>()));
        }
        return (entries, meta, 8 + len);
    }

    /// <summary>
    /// Reads every tensor of one file onto the CPU, in the file's dtype, or converted to <paramref name="dtype"/>.
    /// The caller owns the returned tensors.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string file, ScalarType? dtype = null)
    {
        var (entries, _, dataStart) = ReadHeader(file);
        var result = new Dictionary<string, Tensor>();
        using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBuffer);
        foreach (var e in entries.OrderBy(e => e.Begin))
        {
            var st = ScalarOf(e.DType, file);
            var t = empty(e.Shape, st);
            long bytes = t.NumberOfElements * t.ElementSize;
            if (e.End - e.Begin != bytes) throw new SafetensorsFormatException($"{file}: '{e.Name}' spans {e.End - e.Begin} bytes but shape [{string.Join(",", e.Shape)}] of {e.DType} needs {bytes}.");
            fs.Position = dataStart + e.Begin;
            if (bytes > 0) t.ReadBytesFromStream(fs, CopyBuffer);
            if (dtype is { } d && d != st) { var c = t.to_type(d); t.Dispose(); t = c; }
            result[e.Name] = t;
        }
        return result;
    }

    /// <summary>
    /// Reads a checkpoint directory: <c>model.safetensors</c>, or the shards named by <c>model.safetensors.index.json</c>.
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither file exists.</exception>
    public static Dictionary<string, Tensor> LoadDirectory(string dir, ScalarType? dtype = null)
    {
        var single = Path.Combine(dir, "model.safetensors");
        if (File.Exists(single)) return Load(single, dtype);
        var index = Path.Combine(dir, "model.safetensors.index.json");
        if (!File.Exists(index)) throw new FileNotFoundException($"'{dir}' has neither model.safetensors nor model.safetensors.index.json.", single);
        var map = JsonNode.Parse(File.ReadAllText(index))!["weight_map"]!.AsObject();
        var result = new Dictionary<string, Tensor>();
        foreach (var shard in map.Select(kv => kv.Value!.GetValue<string>()).Distinct())
            foreach (var (k, v) in Load(Path.Combine(dir, shard), dtype)) result[k] = v;
        foreach (var (key, _) in map)
            if (!result.ContainsKey(key)) throw new SafetensorsFormatException($"{index}: '{key}' is listed but no shard holds it.");
        return result;
    }

    /// <summary>Writes tensors (moved to CPU, made contiguous) into one safetensors file, keys sorted.</summary>
    public static void Save(string file, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        if (metadata is not null)
        {
            var m = new JsonObject();
            foreach (var (k, v) in metadata) m[k] = v;
            header["__metadata__"] = m;
        }
        long offset = 0;
        foreach (var (name, t) in list)
        {
            long bytes = t.NumberOfElements * t.ElementSize;
            header[name] = new JsonObject
            {
                ["dtype"] = DTypeName(t.dtype),
                ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
        int padded = (json.Length + 7) / 8 * 8; // the reference writer pads the header with spaces to 8 bytes
        var headerBytes = new byte[padded];
        Array.Fill(headerBytes, (byte)' ');
        json.CopyTo(headerBytes, 0);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        using var fs = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None, CopyBuffer);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
        fs.Write(len);
        fs.Write(headerBytes);
        foreach (var (_, t) in list)
        {
            if (t.NumberOfElements == 0) continue;
            using var cpu = t.detach().cpu().contiguous();
            cpu.WriteBytesToStream(fs, CopyBuffer);
        }
    }

    /// <summary>
    /// Writes tensors as shards of at most <paramref name="maxShardBytes"/> plus <c>model.safetensors.index.json</c>,
    /// or as a single <c>model.safetensors</c> when they fit in one shard.
    /// </summary>
    public static void SaveDirectory(string dir, IReadOnlyDictionary<string, Tensor> tensors, long maxShardBytes = 5L << 30)
    {
        Directory.CreateDirectory(dir);
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        var ordered = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        long total = ordered.Sum(kv => kv.Value.NumberOfElements * kv.Value.ElementSize);
        if (total <= maxShardBytes)
        {
            Save(Path.Combine(dir, "model.safetensors"), ordered, meta);
            return;
        }
        var shards = new List<List<KeyValuePair<string, Tensor>>> { new() };
        long size = 0;
        foreach (var kv in ordered)
        {
            long b = kv.Value.NumberOfElements * kv.Value.ElementSize;
            if (size > 0 && size + b > maxShardBytes) { shards.Add([]); size = 0; }
            shards[^1].Add(kv);
            size += b;
        }
        var weightMap = new JsonObject();
        for (int i = 0; i < shards.Count; i++)
        {
            var name = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            Save(Path.Combine(dir, name), shards[i], meta);
            foreach (var kv in shards[i]) weightMap[kv.Key] = name;
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
