namespace Shepherd.Policy.Model.Network;

/// <summary>The two losses of paper.md: binary cross-entropy on the hint logit, SmoothL1 on r̂ − r.</summary>
public static class Losses
{
    public static double Sigmoid(double z) => z >= 0 ? 1.0 / (1.0 + Math.Exp(-z)) : Math.Exp(z) / (1.0 + Math.Exp(z));

    /// <summary>BCE on a logit, in the stable form max(z, 0) − z·y + log(1 + e^−|z|).</summary>
    public static double BinaryCrossEntropyWithLogit(double logit, double target) =>
        Math.Max(logit, 0) - logit * target + Math.Log(1.0 + Math.Exp(-Math.Abs(logit)));

    /// <summary>∂BCE/∂z = σ(z) − y.</summary>
    public static double BinaryCrossEntropyGradient(double logit, double target) => Sigmoid(logit) - target;

    /// <summary>SmoothL1 (Huber with threshold β): ½d²/β when |d| &lt; β, else |d| − ½β.</summary>
    public static double SmoothL1(double difference, double beta)
    {
        var a = Math.Abs(difference);
        return a < beta ? 0.5 * difference * difference / beta : a - 0.5 * beta;
    }

    public static double SmoothL1Gradient(double difference, double beta) =>
        Math.Abs(difference) < beta ? difference / beta : Math.Sign(difference);
}
