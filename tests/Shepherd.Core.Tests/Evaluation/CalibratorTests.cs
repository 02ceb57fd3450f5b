using Shepherd.Core.Evaluation;
using Shepherd.Core.Policy;
using static Shepherd.Core.Tests.Evaluation.ReplayLabels;

namespace Shepherd.Core.Tests.Evaluation;

public sealed class CalibratorTests
{
    // Five easy queries (P = 0.1, the SLM passes alone) and five hard ones that pass with a 20-token hint, with
    // P = 0.6, 0.7, 0.8, 0.9, 0.95. Every query: 100 prompt tokens, a 100-token LLM answer.
    private static readonly double[] HardP = [0.6, 0.7, 0.8, 0.9, 0.95];

    private static ReplayEvaluator Validation()
    {
        var records = new List<LabelRecord>();
        var scores = new List<(string, PolicyScore)>();
        for (var i = 0; i < 5; i++)
        {
            records.Add(Record($"easy{i}", 100, 100, passFrom: 0) with { Split = LabelSplit.Validation });
            scores.Add(($"easy{i}", Score(0.1, 0)));
            records.Add(Record($"hard{i}", 100, 100, passFrom: 20) with { Split = LabelSplit.Validation });
            scores.Add(($"hard{i}", Score(HardP[i], 20)));
        }

        return new ReplayEvaluator(records, null, Scores(PolicyMode.Proactive, 128, [.. scores]));
    }

    private const double HintedQuery = 100 * In + 20 * Out;

    [Fact]
    public void TheAccuracyFloorPicksTheCheapestPointThatHintsJustEnoughHardQueries()
    {
        var result = Calibrator.Calibrate(Validation(), PolicyMode.Proactive, ReplayGrid.Default(128), new AccuracyFloorTarget(0.9), agree: 3);

        var chosen = Assert.IsType<ReplayResult>(result.Chosen);
        // 0.9 × 100 % needs four of the five hard queries hinted (0.6 < α ≤ 0.7) and none routed to the LLM
        // (η ≥ 20); hinting the fifth too would cost more than the floor needs.
        Assert.Equal(0.9, chosen.Accuracy, tolerance: 1e-12);
        Assert.Equal(4 * HintedQuery, chosen.CostUsd, tolerance: 1e-12);
        Assert.InRange(chosen.Point.Alpha, 0.61, 0.7);
        Assert.True(chosen.Point.EtaHint >= 20);
        Assert.Equal(101 * 20, result.Points.Count);
    }

    [Fact]
    public void TheCostTargetPicksTheMostAccuratePointWithinBudget()
    {
        // Three hinted queries cost 3 × 74.8 µ$ over 10 queries = $0.02244 per 1k; four would be $0.02992.
        var result = Calibrator.Calibrate(Validation(), PolicyMode.Proactive, ReplayGrid.Default(128), new CostTarget(0.025), agree: 3);

        var chosen = Assert.IsType<ReplayResult>(result.Chosen);
        Assert.Equal(0.8, chosen.Accuracy, tolerance: 1e-12);
        Assert.Equal(3 * HintedQuery, chosen.CostUsd, tolerance: 1e-12);
        Assert.InRange(chosen.Point.Alpha, 0.71, 0.8);
    }

    [Fact]
    public void AnUnreachableTargetChoosesNothingAndSaysWhy()
    {
        var result = Calibrator.Calibrate(Validation(), PolicyMode.Proactive, ReplayGrid.Default(128), new AccuracyFloorTarget(1.01), agree: 3);

        Assert.Null(result.Chosen);
        Assert.Contains("no grid point reaches", result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void TheFrontierIsParetoOptimalAndCheapestFirst()
    {
        var result = Calibrator.Calibrate(Validation(), PolicyMode.Proactive, ReplayGrid.Default(128), new AccuracyFloorTarget(0.9), agree: 3);

        Assert.Equal([0.5, 0.6, 0.7, 0.8, 0.9, 1.0], result.Frontier.Select(p => Math.Round(p.Accuracy, 9)));
        foreach (var f in result.Frontier)
        {
            Assert.DoesNotContain(result.Points, p => (p.CostUsd <= f.CostUsd && p.Accuracy > f.Accuracy) || (p.CostUsd < f.CostUsd && p.Accuracy >= f.Accuracy));
        }

        Assert.All(result.Frontier.Zip(result.Frontier.Skip(1)), pair => Assert.True(pair.First.CostUsd < pair.Second.CostUsd));
    }

    [Fact]
    public void TheDefaultGridHasAHundredAndOneAlphasAndTwentyEtasEndingAtNMax()
    {
        var grid = ReplayGrid.Default(256);

        Assert.Equal(101, grid.Alphas.Count);
        Assert.Equal(20, grid.Etas.Count);
        Assert.Equal(0, grid.Etas[0]);
        Assert.Equal(256, grid.Etas[^1]);
    }
}
