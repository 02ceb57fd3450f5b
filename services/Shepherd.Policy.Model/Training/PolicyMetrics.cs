using Shepherd.Core.Policy;

namespace Shepherd.Policy.Model.Training;

/// <summary>The trainer's report card: AUC of the hint head, MAE of the decided n on positives.</summary>
public static class PolicyMetrics
{
    /// <summary>ROC AUC by the Mann–Whitney statistic, ties counted half. NaN when a class is missing.</summary>
    public static double Auc(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        if (scores.Count != labels.Count)
        {
            throw new ArgumentException("Scores and labels differ in length.");
        }

        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        var ranks = new double[scores.Count];
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]])
            {
                j++;
            }

            var rank = (i + j) / 2.0 + 1;
            for (var k = i; k <= j; k++)
            {
                ranks[order[k]] = rank;
            }

            i = j + 1;
        }

        double positives = labels.Count(l => l);
        var negatives = labels.Count - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }

        var rankSum = Enumerable.Range(0, labels.Count).Where(i => labels[i]).Sum(i => ranks[i]);
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }

    /// <summary>Mean |n − n*| over the examples, n = round(clip(exp(r̂) − 1, 0, N_max)). NaN when empty.</summary>
    public static double HintSizeMae(IReadOnlyList<double> rawSizes, IReadOnlyList<int> nStars, int nMax)
    {
        if (rawSizes.Count == 0)
        {
            return double.NaN;
        }

        return rawSizes.Select((r, i) => (double)Math.Abs(PolicyDecisionRule.HintTokens(r, nMax) - nStars[i])).Average();
    }

    /// <summary>The baseline a size head must beat: always answering <paramref name="constant"/> tokens.</summary>
    public static double ConstantMae(IReadOnlyList<int> nStars, double constant) =>
        nStars.Count == 0 ? double.NaN : nStars.Average(n => Math.Abs(n - constant));
}
