namespace Shepherd.Policy.Model.Encoding;

/// <summary>Pooled embeddings of a batch of texts, row-major [count, dimension].</summary>
/// <param name="Vectors">count × dimension floats.</param>
/// <param name="TokenCounts">Each text's length in tokenizer tokens, without special tokens and before truncation.</param>
public sealed record EncodedBatch(float[] Vectors, int[] TokenCounts, int Dimension)
{
    public int Count => TokenCounts.Length;

    public ReadOnlySpan<float> Row(int index) => Vectors.AsSpan(index * Dimension, Dimension);
}

/// <summary>
/// A frozen text encoder: text in, one pooled vector out. The policy never trains it (see docs/policy.md,
/// "Why the encoder is frozen"), so embeddings can be computed once per text and cached.
/// </summary>
public interface ITextEncoder : IDisposable
{
    EncoderSpec Spec { get; }

    int Dimension { get; }

    /// <summary>Encodes the texts in batches; the result keeps the input order. Thread-safe.</summary>
    EncodedBatch Encode(IReadOnlyList<string> texts, CancellationToken cancellationToken = default);

    /// <summary>|q|: the text's length in tokens, without special tokens and before truncation.</summary>
    int CountTokens(string text);
}
