using Microsoft.ML.OnnxRuntime;
using Shepherd.Core.Errors;
using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Bundle;
using Shepherd.Policy.Model.Encoding;

namespace Shepherd.Policy.Model.Prediction;

/// <summary>One query to decide: its text, named features, and optional α / η_hint overrides.</summary>
public sealed record PolicyQuery(
    string Text,
    IReadOnlyDictionary<string, double>? Features = null,
    double? Alpha = null,
    int? EtaHint = null);

/// <summary>The policy's answer for one query.</summary>
/// <param name="PHint">P(hint) = σ(ŷ).</param>
/// <param name="HintLogit">ŷ.</param>
/// <param name="RawSize">r̂, the predicted log(1 + n*).</param>
/// <param name="HintTokens">The decided n (0 when P &lt; α).</param>
/// <param name="RouteToLlm">n &gt; η_hint.</param>
/// <param name="Alpha">The α used.</param>
/// <param name="EtaHint">The η_hint used.</param>
public sealed record PolicyPrediction(double PHint, double HintLogit, double RawSize, int HintTokens, bool RouteToLlm, double Alpha, int EtaHint, int QueryTokens = 0);

public sealed record PolicyPredictorOptions
{
    public EncoderRuntimeOptions Encoder { get; init; } = new();

    /// <summary>Intra-op threads of the heads session (tiny matrices: one is enough).</summary>
    public int HeadsThreads { get; init; } = 1;
}

/// <summary>
/// Loads a bundle and decides: encoder → heads.onnx → the decision rule. Thread-safe; give it whole batches,
/// since one encoder run over B texts costs far less than B runs.
/// </summary>
public sealed class PolicyPredictor : IDisposable
{
    private readonly ITextEncoder _encoder;
    private readonly bool _ownsEncoder;
    private readonly HeadsSession _heads;
    private readonly FeatureSpec[] _features;

    private PolicyPredictor(string directory, PolicyBundle bundle, ITextEncoder encoder, bool ownsEncoder, HeadsSession heads)
    {
        BundleDirectory = directory;
        Manifest = bundle.Manifest;
        _encoder = encoder;
        _ownsEncoder = ownsEncoder;
        _heads = heads;
        _features = [.. bundle.Manifest.Features];
        RequestFeatures = _features.Where(f => f.Source == FeatureSource.Request).Select(f => f.Name).ToArray();
    }

    public string BundleDirectory { get; }

    public PolicyManifest Manifest { get; }

    public string BundleId => Manifest.BundleId;

    public PolicyMode Mode => Manifest.Mode;

    /// <summary>The features a request must carry (the query length is counted here).</summary>
    public IReadOnlyList<string> RequestFeatures { get; }

    /// <summary>Loads a bundle and its encoder. Throws <see cref="PolicyBundleException"/> naming the path.</summary>
    public static PolicyPredictor Load(string bundleDirectory, PolicyPredictorOptions? options = null)
    {
        options ??= new PolicyPredictorOptions();
        var bundle = PolicyBundle.Load(bundleDirectory);
        ITextEncoder encoder;
        try
        {
            encoder = OnnxTextEncoder.Create(bundle.Manifest.Encoder, bundleDirectory, options.Encoder);
        }
        catch (Exception ex) when (ex is IOException or OnnxRuntimeException or InvalidOperationException or ArgumentException or UnauthorizedAccessException)
        {
            throw new PolicyBundleException(bundleDirectory, $"the encoder '{bundle.Manifest.Encoder.Name}' cannot be loaded: {ex.Message}", ex);
        }

        return Create(bundleDirectory, bundle, encoder, ownsEncoder: true, options);
    }

    /// <summary>Loads a bundle with an encoder the caller owns (shared between bundles or runs).</summary>
    public static PolicyPredictor Load(string bundleDirectory, ITextEncoder encoder, PolicyPredictorOptions? options = null) =>
        Create(bundleDirectory, PolicyBundle.Load(bundleDirectory), encoder, ownsEncoder: false, options ?? new PolicyPredictorOptions());

    /// <summary>Throws <see cref="InvalidRequestException"/> for a bad α / η or a missing or non-finite feature.</summary>
    public void Validate(PolicyQuery query, string fieldPrefix = "")
    {
        if (query.Text is null)
        {
            throw new InvalidRequestException(fieldPrefix + "query", "the query text is required");
        }

        if (query.Alpha is { } alpha && !PolicyDecisionRule.IsValidAlpha(alpha))
        {
            throw new InvalidRequestException(fieldPrefix + "alpha", $"α must be in [0, 1], got {alpha}");
        }

        if (query.EtaHint is < 0)
        {
            throw new InvalidRequestException(fieldPrefix + "eta_hint", $"η_hint must be >= 0, got {query.EtaHint}");
        }

        foreach (var name in RequestFeatures)
        {
            if (query.Features is null || !query.Features.TryGetValue(name, out var value))
            {
                throw new InvalidRequestException(
                    $"{fieldPrefix}features[{name}]", $"the {Mode.ToWire()} bundle needs the feature '{name}'");
            }

            if (!double.IsFinite(value))
            {
                throw new InvalidRequestException($"{fieldPrefix}features[{name}]", $"the feature '{name}' must be a finite number");
            }
        }
    }

    public PolicyPrediction Predict(PolicyQuery query, CancellationToken cancellationToken = default) =>
        Predict([query], cancellationToken)[0];

    /// <summary>Decides a batch with one encoder run and one heads run. Validates every query first.</summary>
    public IReadOnlyList<PolicyPrediction> Predict(IReadOnlyList<PolicyQuery> queries, CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < queries.Count; i++)
        {
            Validate(queries[i], queries.Count == 1 ? string.Empty : $"requests[{i}].");
        }

        if (queries.Count == 0)
        {
            return [];
        }

        var encoded = _encoder.Encode(queries.Select(q => q.Text).ToArray(), cancellationToken);
        var features = new float[queries.Count * _features.Length];
        for (var i = 0; i < queries.Count; i++)
        {
            for (var f = 0; f < _features.Length; f++)
            {
                features[i * _features.Length + f] = _features[f].Source == FeatureSource.QueryTokens
                    ? encoded.TokenCounts[i]
                    : (float)queries[i].Features![_features[f].Name];
            }
        }

        var (logits, sizes) = _heads.Run(encoded.Vectors, features, queries.Count);
        var predictions = new PolicyPrediction[queries.Count];
        for (var i = 0; i < queries.Count; i++)
        {
            var alpha = queries[i].Alpha ?? Manifest.Alpha;
            var eta = queries[i].EtaHint ?? Manifest.EtaHint;
            var logit = (double)logits[i];
            var p = Network.Losses.Sigmoid(logit);
            var decision = PolicyDecisionRule.Decide(p, sizes[i], alpha, eta, Manifest.NMax);
            predictions[i] = new PolicyPrediction(p, logit, sizes[i], decision.HintTokens, decision.RouteToLlm, alpha, eta, encoded.TokenCounts[i]);
        }

        return predictions;
    }

    public void Dispose()
    {
        _heads.Dispose();
        if (_ownsEncoder)
        {
            _encoder.Dispose();
        }
    }

    private static PolicyPredictor Create(string directory, PolicyBundle bundle, ITextEncoder encoder, bool ownsEncoder, PolicyPredictorOptions options)
    {
        try
        {
            if (encoder.Dimension != bundle.Manifest.EmbeddingDim)
            {
                throw new PolicyBundleException(
                    directory, $"the encoder gives {encoder.Dimension}-dim embeddings but the heads expect {bundle.Manifest.EmbeddingDim}.");
            }

            var headsPath = Path.Combine(directory, bundle.Manifest.Heads.File);
            HeadsSession heads;
            try
            {
                heads = new HeadsSession(File.ReadAllBytes(headsPath), bundle.Manifest.EmbeddingDim, bundle.Manifest.Features.Count, options.HeadsThreads);
            }
            catch (OnnxRuntimeException ex)
            {
                throw new PolicyBundleException(directory, $"'{headsPath}' cannot be loaded by OnnxRuntime: {ex.Message}", ex);
            }

            return new PolicyPredictor(directory, bundle, encoder, ownsEncoder, heads);
        }
        catch
        {
            if (ownsEncoder)
            {
                encoder.Dispose();
            }

            throw;
        }
    }
}
