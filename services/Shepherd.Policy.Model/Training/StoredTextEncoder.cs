using Shepherd.Policy.Model.Encoding;

namespace Shepherd.Policy.Model.Training;

/// <summary>
/// An encoder backed by an <see cref="EmbeddingStore"/>: stored texts are read, the others encoded and stored.
/// The real encoder is loaded only when a text is missing, so a run whose texts are all stored never opens an
/// OnnxRuntime session. <see cref="TextsEncoded"/> and <see cref="TextsFound"/> say what a run did.
/// </summary>
public sealed class StoredTextEncoder : ITextEncoder
{
    private readonly EmbeddingStore _store;
    private readonly Func<ITextEncoder> _create;
    private readonly bool _ownsStore;
    private readonly Lock _lock = new();
    private ITextEncoder? _inner;
    private int _dimension;
    private long _encoded;
    private long _found;

    /// <param name="store">The store; the caller owns it.</param>
    /// <param name="spec">The encoder's spec (what the bundle records).</param>
    /// <param name="fingerprint">From <see cref="EncoderFingerprint.Compute"/>.</param>
    /// <param name="create">Loads the real encoder, on the first miss; this encoder then owns it.</param>
    /// <param name="ownsStore">Dispose the store with this encoder.</param>
    public StoredTextEncoder(EmbeddingStore store, EncoderSpec spec, string fingerprint, Func<ITextEncoder> create, bool ownsStore = false)
    {
        _store = store;
        _create = create;
        _ownsStore = ownsStore;
        Spec = spec;
        Fingerprint = fingerprint;
        _dimension = store.Dimension(fingerprint) ?? 0;
    }

    /// <summary>The store-backed encoder for a spec, its real encoder loaded on demand with these runtime options.</summary>
    public static StoredTextEncoder Create(
        EmbeddingStore store, EncoderSpec spec, string? baseDirectory = null, EncoderRuntimeOptions? options = null, bool ownsStore = false) =>
        new(store, spec, EncoderFingerprint.Compute(spec, baseDirectory), () => OnnxTextEncoder.Create(spec, baseDirectory, options), ownsStore);

    public EncoderSpec Spec { get; }

    public string Fingerprint { get; }

    public int Dimension => _dimension > 0 ? _dimension : (_dimension = Inner.Dimension);

    /// <summary>Texts sent to the real encoder so far.</summary>
    public long TextsEncoded => Interlocked.Read(ref _encoded);

    /// <summary>Texts read from the store so far.</summary>
    public long TextsFound => Interlocked.Read(ref _found);

    /// <summary>Whether the real encoder has been loaded.</summary>
    public bool EncoderLoaded => _inner is not null;

    private ITextEncoder Inner
    {
        get
        {
            lock (_lock)
            {
                return _inner ??= _create();
            }
        }
    }

    public int CountTokens(string text) =>
        _store.Find(Fingerprint, [text]).TryGetValue(text, out var stored) ? stored.Tokens : Inner.CountTokens(text);

    public EncodedBatch Encode(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        var found = _store.Find(Fingerprint, texts);
        var missing = texts.Where(t => !found.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToArray();
        Interlocked.Add(ref _found, texts.Count - missing.Length);
        if (missing.Length > 0)
        {
            var encoded = Inner.Encode(missing, cancellationToken);
            _dimension = encoded.Dimension;
            var rows = new (string, StoredEmbedding)[missing.Length];
            for (var i = 0; i < missing.Length; i++)
            {
                var row = new StoredEmbedding(encoded.Row(i).ToArray(), encoded.TokenCounts[i]);
                rows[i] = (missing[i], row);
                found[missing[i]] = row;
            }

            _store.Add(Fingerprint, Spec.Name, encoded.Dimension, rows);
            Interlocked.Add(ref _encoded, missing.Length);
        }

        var dimension = Dimension;
        var vectors = new float[texts.Count * dimension];
        var counts = new int[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            var stored = found[texts[i]];
            if (stored.Vector.Length != dimension)
            {
                throw new InvalidOperationException(
                    $"The embedding store '{_store.Path}' holds a {stored.Vector.Length}-dim vector for a {dimension}-dim encoder; delete the file.");
            }

            stored.Vector.CopyTo(vectors, i * dimension);
            counts[i] = stored.Tokens;
        }

        return new EncodedBatch(vectors, counts, dimension);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _inner?.Dispose();
            _inner = null;
        }

        if (_ownsStore)
        {
            _store.Dispose();
        }
    }
}
