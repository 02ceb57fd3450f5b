namespace Shepherd.Core.Policy;

/// <summary>The numeric feature names the label file and the policy share.</summary>
public static class PolicyFeatureNames
{
    /// <summary>ē: mean predictive entropy over the K SLM samples.</summary>
    public const string MeanEntropy = "mean_entropy";

    /// <summary>L̄: mean SLM output length over the K samples, in SLM tokens.</summary>
    public const string MeanOutputLength = "mean_output_length";

    /// <summary>|q|: the query length in tokens of the policy encoder's tokenizer.</summary>
    public const string QueryLength = "query_length";

    /// <summary>The features a bundle of the given mode uses, in model input order.</summary>
    public static IReadOnlyList<string> For(PolicyMode mode) => mode switch
    {
        PolicyMode.Proactive => [QueryLength],
        PolicyMode.Reactive => [MeanEntropy, MeanOutputLength, QueryLength],
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown policy mode."),
    };
}
