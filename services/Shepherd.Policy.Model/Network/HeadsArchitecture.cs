namespace Shepherd.Policy.Model.Network;

/// <summary>
/// The shape of the trainable part (paper.md, "The two-stage predictor"): g = MLP(f) over the standardised
/// features, u = [embedding; g], Head_hint(u) → logit with multi-sample dropout in training, Head_size(u) → r̂.
/// Every hidden layer is Linear + ReLU; each head ends in a Linear layer with one output.
/// </summary>
public sealed record HeadsArchitecture
{
    /// <summary>The encoder's embedding width.</summary>
    public required int EmbeddingDim { get; init; }

    /// <summary>The number of numeric features f(q).</summary>
    public required int FeatureCount { get; init; }

    /// <summary>Hidden sizes of g; the last one is g's width. Empty (or no features) = no feature branch.</summary>
    public IReadOnlyList<int> FeatureHidden { get; init; } = [16];

    public IReadOnlyList<int> HintHidden { get; init; } = [64];

    public IReadOnlyList<int> SizeHidden { get; init; } = [64];

    /// <summary>Dropout rate before Head_hint's output layer, training only.</summary>
    public double Dropout { get; init; } = 0.2;

    /// <summary>Multi-sample dropout: dropout masks whose logits are averaged, training only.</summary>
    public int DropoutSamples { get; init; } = 5;

    public bool HasFeatureBranch => FeatureCount > 0 && FeatureHidden.Count > 0;

    /// <summary>g's width (0 without a feature branch).</summary>
    public int FeatureOutputDim => HasFeatureBranch ? FeatureHidden[^1] : 0;

    /// <summary>u's width.</summary>
    public int FusedDim => EmbeddingDim + FeatureOutputDim;

    public void Validate()
    {
        if (EmbeddingDim <= 0 || FeatureCount < 0)
        {
            throw new ArgumentException("Embedding width must be positive and the feature count non-negative.");
        }

        if (FeatureHidden.Concat(HintHidden).Concat(SizeHidden).Any(h => h <= 0))
        {
            throw new ArgumentException("Hidden layer sizes must be positive.");
        }

        if (Dropout is < 0 or >= 1 || DropoutSamples < 1)
        {
            throw new ArgumentException("Dropout must be in [0, 1) with at least one sample.");
        }
    }
}
