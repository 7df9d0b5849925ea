namespace FunctionGemma.Core.Tokenizer;

/// <summary>
/// Text ⇄ token ids with Hugging Face <c>tokenizers</c> semantics. Implementations are immutable after
/// construction, so one instance serves concurrent <see cref="Encode"/> and <see cref="Decode"/> calls.
/// </summary>
public interface ITextTokenizer
{
    /// <summary>Id of the beginning-of-sequence token (<c>&lt;bos&gt;</c>, 2 for Gemma 3).</summary>
    int BosId { get; }

    /// <summary>Id of the end-of-sequence token (<c>&lt;eos&gt;</c>, 1 for FunctionGemma).</summary>
    int EosId { get; }

    /// <summary>Id of the padding token (<c>&lt;pad&gt;</c>, 0 for Gemma 3).</summary>
    int PadId { get; }

    /// <summary>Number of ids the tokenizer knows: the model vocabulary plus added tokens beyond it.</summary>
    int VocabSize { get; }

    /// <summary>
    /// Token ids of <paramref name="text"/>, as Hugging Face <c>Tokenizer.encode(text, add_special_tokens=addBos).ids</c>:
    /// added tokens (control tokens such as <c>&lt;start_of_turn&gt;</c> or <c>&lt;escape&gt;</c>) written in the text are
    /// matched whole, and <paramref name="addBos"/> prepends one <see cref="BosId"/> (a literal <c>&lt;bos&gt;</c> in the
    /// text is kept as well, as Hugging Face does).
    /// </summary>
    /// <exception cref="ArgumentException">The text is not valid UTF-16 (a lone surrogate).</exception>
    int[] Encode(string text, bool addBos);

    /// <summary>
    /// Text of <paramref name="ids"/>, as Hugging Face <c>Tokenizer.decode(ids, skip_special_tokens=skipSpecial)</c>:
    /// byte-fallback tokens are joined into UTF-8 (invalid bytes become U+FFFD) and, with
    /// <paramref name="skipSpecial"/>, ids for which <see cref="IsSpecial"/> holds are left out.
    /// Ids the tokenizer does not know are left out.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is negative.</exception>
    string Decode(ReadOnlySpan<int> ids, bool skipSpecial);

    /// <summary>Id of a token written exactly as in the vocabulary (e.g. <c>&lt;escape&gt;</c> or <c>▁the</c>).</summary>
    /// <exception cref="KeyNotFoundException">The token is not in the vocabulary.</exception>
    int TokenToId(string token);

    /// <summary>Id of a token written exactly as in the vocabulary, if it is there.</summary>
    bool TryTokenToId(string token, out int id);

    /// <summary>Vocabulary text of <paramref name="id"/>, or null when the id is unknown.</summary>
    string? IdToToken(int id);

    /// <summary>Whether <see cref="Decode"/> with <c>skipSpecial: true</c> leaves <paramref name="id"/> out.</summary>
    bool IsSpecial(int id);
}
