namespace Shepherd.Core.Evaluation;

/// <summary>The paper's summary metrics (paper.md, "Notation and cost model").</summary>
public static class AccuracyPerCost
{
    /// <summary>
    /// ACE(π) = ((A_π − A_s) / (A_l − A_s)) / (C_π / C_l). Accuracies in any one unit (fraction or percent),
    /// costs in any one unit. Null where it is undefined: A_l = A_s, or C_π or C_l not positive.
    /// </summary>
    public static double? Ace(double accuracy, double cost, double slmAccuracy, double llmAccuracy, double llmCost)
    {
        var gap = llmAccuracy - slmAccuracy;
        if (gap == 0 || !(cost > 0) || !(llmCost > 0))
        {
            return null;
        }

        var value = (accuracy - slmAccuracy) / gap / (cost / llmCost);
        return double.IsFinite(value) ? value : null;
    }

    /// <summary>Cost reduction against LLM-only, in percent: 100 · (1 − C_π / C_l). Null when C_l is not positive.</summary>
    public static double? CostReductionPercent(double cost, double llmCost) =>
        llmCost > 0 ? 100.0 * (1.0 - cost / llmCost) : null;
}
