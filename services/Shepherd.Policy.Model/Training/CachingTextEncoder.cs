using System.Collections.Concurrent;
using Shepherd.Policy.Model.Encoding;

namespace Shepherd.Policy.Model.Training;

/// <summary>
/// Remembers each text's embedding. The encoder is frozen, so repeated training runs (seeds, calibration,
/// tests) need each text encoded once.
/// </summary>
public sealed class CachingTextEncoder(ITextEncoder inner, bool ownsInner = true) : ITextEncoder
{
    private readonly ConcurrentDictionary<string, (float[] Vector, int Tokens)> _cache = new(StringComparer.Ordinal);

    public EncoderSpec Spec => inner.Spec;

    public int Dimension => inner.Dimension;

    public int CountTokens(string text) => _cache.TryGetValue(text, out var hit) ? hit.Tokens : inner.CountTokens(text);

    public EncodedBatch Encode(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        var missing = texts.Where(t => !_cache.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
        {
            var encoded = inner.Encode(missing, cancellationToken);
            for (var i = 0; i < missing.Length; i++)
            {
                _cache[missing[i]] = (encoded.Row(i).ToArray(), encoded.TokenCounts[i]);
            }
        }

        var vectors = new float[texts.Count * Dimension];
        var counts = new int[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            var (vector, tokens) = _cache[texts[i]];
            vector.CopyTo(vectors, i * Dimension);
            counts[i] = tokens;
        }

        return new EncodedBatch(vectors, counts, Dimension);
    }

    public void Dispose()
    {
        if (ownsInner)
        {
            inner.Dispose();
        }
    }
}
