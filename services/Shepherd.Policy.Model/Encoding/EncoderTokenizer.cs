using Microsoft.ML.Tokenizers;

namespace Shepherd.Policy.Model.Encoding;

/// <summary>Turns text into model ids: [start] body… [end], truncated to a maximum length.</summary>
internal sealed class EncoderTokenizer
{
    private readonly Tokenizer _tokenizer;
    private readonly Func<string, IReadOnlyList<int>> _body;

    private EncoderTokenizer(Tokenizer tokenizer, Func<string, IReadOnlyList<int>> body, int startId, int endId, int padId)
    {
        _tokenizer = tokenizer;
        _body = body;
        StartId = startId;
        EndId = endId;
        PadId = padId;
    }

    public int StartId { get; }

    public int EndId { get; }

    public int PadId { get; }

    public static EncoderTokenizer Create(TokenizerKind kind, Stream vocabulary, bool lowerCase)
    {
        switch (kind)
        {
            case TokenizerKind.WordPiece:
                {
                    var bert = BertTokenizer.Create(vocabulary, new BertOptions { LowerCaseBeforeTokenization = lowerCase });
                    return new EncoderTokenizer(
                        bert,
                        text => bert.EncodeToIds(text, addSpecialTokens: false),
                        bert.ClassificationTokenId,
                        bert.SeparatorTokenId,
                        bert.PaddingTokenId);
                }

            case TokenizerKind.SentencePiece:
                {
                    var sp = SentencePieceTokenizer.Create(vocabulary, addBeginningOfSentence: false, addEndOfSentence: false);
                    // DeBERTa-v3's spm.model maps [CLS]/[SEP] to BOS/EOS (1/2) and [PAD] to 0.
                    return new EncoderTokenizer(
                        sp,
                        text => sp.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false),
                        sp.BeginningOfSentenceId,
                        sp.EndOfSentenceId,
                        0);
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown tokenizer kind.");
        }
    }

    public Tokenizer Inner => _tokenizer;

    /// <summary>The body ids (no special tokens, not truncated).</summary>
    public IReadOnlyList<int> Body(string text) => _body(text);

    /// <summary>[start] + the first maxLength − 2 body ids + [end].</summary>
    public int[] ModelIds(IReadOnlyList<int> body, int maxLength)
    {
        var take = Math.Min(body.Count, maxLength - 2);
        var ids = new int[take + 2];
        ids[0] = StartId;
        for (var i = 0; i < take; i++)
        {
            ids[i + 1] = body[i];
        }

        ids[take + 1] = EndId;
        return ids;
    }
}
