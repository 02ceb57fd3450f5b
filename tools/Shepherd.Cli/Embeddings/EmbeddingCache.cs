using Shepherd.Cli.Hosting;
using Shepherd.Policy.Model.Bundle;
using Shepherd.Policy.Model.Encoding;
using Shepherd.Policy.Model.Training;

namespace Shepherd.Cli.Embeddings;

/// <summary>
/// The CLI's persistent embedding cache, shared by train, calibrate, eval and reproduce: a SQLite file keyed by
/// the encoder's fingerprint and the exact text (<see cref="EmbeddingStore"/>), so each query is encoded once
/// per encoder however many runs read it. Default <c>.shepherd/embeddings.db</c>; the environment variable
/// <c>SHEPHERD_EMBEDDING_CACHE</c> names another file, or <c>off</c> to encode every run afresh.
/// </summary>
public static class EmbeddingCache
{
    public const string Variable = "SHEPHERD_EMBEDDING_CACHE";

    /// <summary>The cache file, or null when the cache is off.</summary>
    public static string? Path
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable(Variable);
            if (string.Equals(configured, "off", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            return string.IsNullOrWhiteSpace(configured) ? System.IO.Path.Combine(LocalStack.DefaultHome, "embeddings.db") : configured;
        }
    }

    /// <summary>An encoder for the spec that reads and fills the cache; the plain encoder when the cache is off.</summary>
    public static ITextEncoder Open(EncoderSpec spec, string? baseDirectory = null, EncoderRuntimeOptions? options = null)
    {
        if (Path is not { } path)
        {
            return OnnxTextEncoder.Create(spec, baseDirectory, options);
        }

        var store = EmbeddingStore.Open(path);
        try
        {
            return StoredTextEncoder.Create(store, spec, baseDirectory, options, ownsStore: true);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>The cached encoder a bundle names (its relative paths resolve in the bundle directory).</summary>
    public static ITextEncoder ForBundle(string bundleDirectory)
    {
        var spec = PolicyBundle.Load(bundleDirectory).Manifest.Encoder;
        try
        {
            return Open(spec, bundleDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new PolicyBundleException(bundleDirectory, $"the encoder '{spec.Name}' cannot be loaded: {ex.Message}", ex);
        }
    }

    /// <summary>"N from the cache, M encoded", for the commands' summaries; null when the cache is off.</summary>
    public static string? Describe(ITextEncoder encoder) => encoder is StoredTextEncoder stored
        ? $"embeddings: {stored.TextsFound} from the cache, {stored.TextsEncoded} encoded ({Path})"
        : null;
}
