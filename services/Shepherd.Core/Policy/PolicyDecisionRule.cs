namespace Shepherd.Core.Policy;

/// <summary>The outcome of the decision rule for one query.</summary>
/// <param name="HintTokens">n: the LLM tokens to buy as a hint; 0 when no hint is needed.</param>
/// <param name="RouteToLlm">n &gt; η_hint: skip the hint and send the query to the LLM's full answer.</param>
public readonly record struct HintDecision(int HintTokens, bool RouteToLlm)
{
    /// <summary>The SLM answers alone (P(hint) &lt; α).</summary>
    public static HintDecision SlmOnly => new(0, false);
}

/// <summary>
/// The test-time decision of paper.md ("The two-stage predictor"), exactly:
/// P &lt; α → n = 0 (SLM alone); else n = round(clip(exp(r̂) − 1, 0, N_max)); n &gt; η_hint → route to the LLM.
/// </summary>
public static class PolicyDecisionRule
{
    /// <summary>
    /// How n is rounded: to the nearest integer, halves to even (<see cref="MidpointRounding.ToEven"/>), the
    /// behaviour of Python's <c>round</c> and <c>torch.round</c> that the paper's reference code uses.
    /// So 2.5 → 2 and 3.5 → 4. Clipping happens before rounding; N_max is an integer, so the result stays in [0, N_max].
    /// </summary>
    public const MidpointRounding Rounding = MidpointRounding.ToEven;

    /// <summary>Applies the rule.</summary>
    /// <param name="pHint">P(q) = σ(ŷ), in [0, 1].</param>
    /// <param name="rawSize">r̂, the predicted log(1 + n*). +∞ clips to N_max; NaN is rejected.</param>
    /// <param name="alpha">α in [0, 1]: the hint threshold. P = α counts as "hint needed".</param>
    /// <param name="etaHint">η_hint ≥ 0: n = η still gets a hint; only n &gt; η routes to the LLM.</param>
    /// <param name="nMax">N_max ≥ 0: the largest hint the policy may ask for.</param>
    public static HintDecision Decide(double pHint, double rawSize, double alpha, int etaHint, int nMax)
    {
        ValidateThresholds(alpha, etaHint);
        ArgumentOutOfRangeException.ThrowIfNegative(nMax);
        if (!double.IsFinite(pHint) || pHint < 0 || pHint > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(pHint), pHint, "P(hint) must be a probability in [0, 1].");
        }

        if (double.IsNaN(rawSize))
        {
            throw new ArgumentOutOfRangeException(nameof(rawSize), rawSize, "r̂ must not be NaN.");
        }

        if (pHint < alpha)
        {
            return HintDecision.SlmOnly;
        }

        var n = HintTokens(rawSize, nMax);
        return new HintDecision(n, n > etaHint);
    }

    /// <summary>n = round(clip(exp(r̂) − 1, 0, N_max)), without the α gate.</summary>
    public static int HintTokens(double rawSize, int nMax)
    {
        var clipped = Math.Clamp(Math.Exp(rawSize) - 1.0, 0.0, nMax);
        return (int)Math.Round(clipped, Rounding);
    }

    /// <summary>Throws when α is outside [0, 1] (or not a number) or η_hint is negative.</summary>
    public static void ValidateThresholds(double alpha, int etaHint)
    {
        if (!IsValidAlpha(alpha))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "α must be in [0, 1].");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(etaHint);
    }

    public static bool IsValidAlpha(double alpha) => alpha is >= 0.0 and <= 1.0;

    /// <summary>The size target of a positive: r = log(1 + n*).</summary>
    public static double SizeTarget(int nStar) => Math.Log(1.0 + nStar);
}
