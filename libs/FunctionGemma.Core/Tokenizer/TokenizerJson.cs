using System.Text;
using System.Text.Json;

namespace FunctionGemma.Core.Tokenizer;

/// <summary>An entry of tokenizer.json's <c>added_tokens</c>.</summary>
internal readonly record struct AddedToken(int Id, string Content, bool Special);

/// <summary>
/// What the managed side needs from a Hugging Face tokenizer.json (id ⇄ token text, added tokens and their
/// <c>special</c> flags), read in one streaming pass; the same pass can rewrite the file for a derived vocabulary
/// (renamed tokens, extra special flags) by splicing the original bytes, so the 33 MB file is never re-serialized.
/// </summary>
internal sealed class TokenizerJson
{
    public required string?[] IdToToken { get; init; }
    public required Dictionary<string, int> TokenToId { get; init; }
    public required AddedToken[] AddedTokens { get; init; }

    /// <summary>Reads <paramref name="json"/>; with a non-null <paramref name="rewrite"/>, also returns the rewritten bytes.</summary>
    public static (TokenizerJson Data, byte[]? Rewritten) Read(byte[] json, string source, Rewrite? rewrite = null)
    {
        var vocab = new Dictionary<string, int>(300_000, StringComparer.Ordinal);
        var added = new List<AddedToken>();
        var edits = new List<(int Start, int Length, string Replacement)>();
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
        var path = new List<string>(8);
        string? property = null;
        // Fields of the added_tokens entry being read, with the byte spans a rewrite may replace.
        int addedId = -1; string? addedContent = null; bool addedSpecial = false;
        (int Start, int Length) contentSpan = default, specialSpan = default;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        path.Add(property ?? "[]");
                        property = null;
                        if (IsAddedTokenEntry(path)) { addedId = -1; addedContent = null; addedSpecial = false; contentSpan = specialSpan = default; }
                        break;
                    case JsonTokenType.EndObject:
                        if (IsAddedTokenEntry(path))
                        {
                            if (addedId < 0 || addedContent is null)
                                throw new InvalidDataException($"{source}: an added_tokens entry lacks 'id' or 'content'.");
                            var content = addedContent;
                            var special = addedSpecial;
                            if (rewrite is not null)
                            {
                                if (rewrite.Renames.TryGetValue(addedId, out var rename))
                                {
                                    if (content != rename.From)
                                        throw new InvalidDataException($"{source}: added token {addedId} is '{content}', not '{rename.From}'; cannot rename it to '{rename.To}'.");
                                    edits.Add((contentSpan.Start, contentSpan.Length, JsonString(rename.To)));
                                    content = rename.To;
                                }
                                if (!special && rewrite.IsSpecial(addedId, content))
                                {
                                    if (specialSpan.Length == 0)
                                        throw new InvalidDataException($"{source}: added token {addedId} has no 'special' flag to set.");
                                    edits.Add((specialSpan.Start, specialSpan.Length, "true"));
                                    special = true;
                                }
                            }
                            added.Add(new AddedToken(addedId, content, special));
                        }
                        path.RemoveAt(path.Count - 1);
                        break;
                    case JsonTokenType.EndArray:
                        path.RemoveAt(path.Count - 1);
                        break;
                    case JsonTokenType.PropertyName:
                        if (IsVocab(path))
                        {
                            var nameStart = (int)reader.TokenStartIndex;
                            var token = reader.GetString()!;
                            var nameLength = RawStringLength(json, nameStart);
                            if (!reader.Read() || reader.TokenType != JsonTokenType.Number)
                                throw new InvalidDataException($"{source}: model.vocab entry '{token}' has no numeric id.");
                            var id = reader.GetInt32();
                            if (rewrite is not null && rewrite.Renames.TryGetValue(id, out var rename))
                            {
                                if (token != rename.From)
                                    throw new InvalidDataException($"{source}: model.vocab id {id} is '{token}', not '{rename.From}'; cannot rename it to '{rename.To}'.");
                                edits.Add((nameStart, nameLength, JsonString(rename.To)));
                                token = rename.To;
                            }
                            vocab[token] = id;
                        }
                        else property = reader.GetString();
                        break;
                    case JsonTokenType.String when IsAddedTokenEntry(path) && property == "content":
                        addedContent = reader.GetString();
                        contentSpan = ((int)reader.TokenStartIndex, RawStringLength(json, (int)reader.TokenStartIndex));
                        property = null;
                        break;
                    case JsonTokenType.Number when IsAddedTokenEntry(path) && property == "id":
                        addedId = reader.GetInt32();
                        property = null;
                        break;
                    case JsonTokenType.True or JsonTokenType.False when IsAddedTokenEntry(path) && property == "special":
                        addedSpecial = reader.TokenType == JsonTokenType.True;
                        specialSpan = ((int)reader.TokenStartIndex, addedSpecial ? 4 : 5);
                        property = null;
                        break;
                    default:
                        property = null;
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source} is not valid JSON: {e.Message}", e);
        }
        if (vocab.Count == 0)
            throw new InvalidDataException($"{source} has no model.vocab object; only BPE tokenizer.json files (Gemma 3) are supported.");

        var size = Math.Max(vocab.Values.Max(), added.Count == 0 ? -1 : added.Max(a => a.Id)) + 1;
        var idToToken = new string?[size];
        foreach (var (token, id) in vocab) idToToken[id] = token;
        // Added tokens win over the model vocabulary for both directions, as in tokenizers' AddedVocabulary.
        foreach (var a in added) { idToToken[a.Id] = a.Content; vocab[a.Content] = a.Id; }

        byte[]? rewritten = null;
        if (rewrite is not null)
        {
            edits.Sort((a, b) => a.Start.CompareTo(b.Start));
            using var output = new MemoryStream(json.Length + 1024);
            var at = 0;
            foreach (var (start, length, replacement) in edits)
            {
                output.Write(json, at, start - at);
                output.Write(Encoding.UTF8.GetBytes(replacement));
                at = start + length;
            }
            output.Write(json, at, json.Length - at);
            rewritten = output.ToArray();
        }
        return (new TokenizerJson { IdToToken = idToToken, TokenToId = vocab, AddedTokens = [.. added] }, rewritten);
    }

    // Keeps '<' and '>' readable in the rewritten file (the default encoder would write \u003C).
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string JsonString(string text) => JsonSerializer.Serialize(text, Relaxed);

    private static bool IsVocab(List<string> path) => path is ["[]", "model", "vocab"];

    private static bool IsAddedTokenEntry(List<string> path) => path is ["[]", "added_tokens", "[]"];

    /// <summary>Byte length of the JSON string literal starting at <paramref name="start"/> (its quotes included).</summary>
    private static int RawStringLength(byte[] json, int start)
    {
        for (var i = start + 1; i < json.Length; i++)
        {
            if (json[i] == (byte)'\\') { i++; continue; }
            if (json[i] == (byte)'"') return i - start + 1;
        }
        throw new InvalidDataException("Unterminated JSON string.");
    }

    /// <summary>How to derive a vocabulary: ids to rename, and which added tokens become special.</summary>
    internal sealed record Rewrite(IReadOnlyDictionary<int, (string From, string To)> Renames, IReadOnlySet<string> SpecialContents)
    {
        public bool IsSpecial(int id, string content) => SpecialContents.Contains(content);
    }
}
