using Shepherd.Core.Strategies;

namespace Shepherd.Core.Evaluation;

/// <summary>The operating points a sweep or a calibration tries.</summary>
public sealed record ReplayGrid
{
    /// <summary>α candidates (route, proactive, reactive).</summary>
    public required IReadOnlyList<double> Alphas { get; init; }

    /// <summary>η_hint candidates (proactive, reactive).</summary>
    public required IReadOnlyList<int> Etas { get; init; }

    /// <summary>θ candidates (cascade-scorer).</summary>
    public required IReadOnlyList<double> Thresholds { get; init; }

    /// <summary>k candidates (cascade-abc, reactive); empty = 1…K.</summary>
    public IReadOnlyList<int> Agrees { get; init; } = [];

    /// <summary>
    /// The default: α and θ in 0, 0.01, …, 1 (101 values); <paramref name="etaCount"/> η values spread evenly over
    /// [0, N_max] (N_max itself included: "never route"), distinct.
    /// </summary>
    public static ReplayGrid Default(int nMax, int alphaCount = 101, int etaCount = 20) => new()
    {
        Alphas = Even(alphaCount),
        Thresholds = Even(alphaCount),
        Etas = Enumerable.Range(0, etaCount)
            .Select(i => etaCount == 1 ? nMax : (int)Math.Round(i * (double)nMax / (etaCount - 1), MidpointRounding.AwayFromZero))
            .Distinct()
            .ToArray(),
    };

    /// <summary>The points of one strategy; single-point strategies give their one point.</summary>
    public IEnumerable<ReplayPoint> Points(StrategyKind strategy, int samples)
    {
        IReadOnlyList<int> agrees = Agrees.Count > 0 ? Agrees : Enumerable.Range(1, Math.Max(samples, 1)).ToArray();
        switch (strategy)
        {
            case StrategyKind.Route:
                return Alphas.Select(a => new ReplayPoint(strategy, Alpha: a));
            case StrategyKind.CascadeAbc:
                // k of K, and the paper's ABC (N = 2 samples, escalate unless both agree).
                return agrees.Select(k => new ReplayPoint(strategy, Agree: k))
                    .Concat(samples >= TaskPresets.AbcSamples ? [new ReplayPoint(strategy, Agree: TaskPresets.AbcSamples, Samples: TaskPresets.AbcSamples)] : []);
            case StrategyKind.CascadeScorer:
                return Thresholds.Select(t => new ReplayPoint(strategy, Threshold: t));
            case StrategyKind.Proactive:
                return Alphas.SelectMany(a => Etas.Select(e => new ReplayPoint(strategy, Alpha: a, EtaHint: e)));
            case StrategyKind.Reactive:
                return agrees.SelectMany(k => Alphas.SelectMany(a => Etas.Select(e => new ReplayPoint(strategy, Alpha: a, EtaHint: e, Agree: k))));
            default:
                return [new ReplayPoint(strategy)];
        }
    }

    private static double[] Even(int count) =>
        count == 1 ? [0.5] : Enumerable.Range(0, count).Select(i => Math.Round(i / (double)(count - 1), 6)).ToArray();
}

/// <summary>Pareto frontiers of cost (lower is better) against accuracy (higher is better).</summary>
public static class ParetoFrontier
{
    /// <summary>The points no other point beats on both cost and accuracy, cheapest first (ties: the more accurate).</summary>
    public static IReadOnlyList<ReplayResult> Of(IEnumerable<ReplayResult> results)
    {
        var frontier = new List<ReplayResult>();
        var best = double.NegativeInfinity;
        foreach (var r in results.OrderBy(r => r.CostUsd).ThenByDescending(r => r.Correct))
        {
            if (r.Correct > best)
            {
                frontier.Add(r);
                best = r.Correct;
            }
        }

        return frontier;
    }
}
