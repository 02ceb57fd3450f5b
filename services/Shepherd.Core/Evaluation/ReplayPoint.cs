using System.Globalization;
using Shepherd.Core.Strategies;

namespace Shepherd.Core.Evaluation;

/// <summary>The strategies replay recomputes (paper.md, "Results to beat" and "Notation and cost model").</summary>
public enum ReplayStrategy
{
    Slm,
    Llm,
    Route,
    CascadeAbc,
    CascadeScorer,
    Proactive,
    Reactive,
    Oracle,
    OracleRoute,
    OracleCascade,
}

/// <summary>
/// One operating point of a strategy. Only the fields its strategy reads matter: α (route, proactive, reactive),
/// η_hint (proactive, reactive), k agreeing samples (cascade-abc, reactive), θ the scorer threshold (cascade-scorer),
/// N samples drawn (cascade-abc; 0 = all K the labels hold).
/// </summary>
public readonly record struct ReplayPoint(ReplayStrategy Strategy, double Alpha = 0, int EtaHint = 0, int Agree = 0, double Threshold = 0, int Samples = 0)
{
    public string Name => Strategy.ToWire();

    /// <summary>The parameters that matter, e.g. "α=0.23 η=58 k=3".</summary>
    public string Parameters => Strategy switch
    {
        ReplayStrategy.Route => $"α={F(Alpha)}",
        ReplayStrategy.CascadeAbc => Samples > 0 ? $"{Agree} of N={Samples}" : $"k={Agree}",
        ReplayStrategy.CascadeScorer => $"θ={F(Threshold)}",
        ReplayStrategy.Proactive => $"α={F(Alpha)} η={EtaHint}",
        ReplayStrategy.Reactive => $"α={F(Alpha)} η={EtaHint} k={Agree}",
        _ => "",
    };

    public override string ToString() => Parameters.Length == 0 ? Name : $"{Name} ({Parameters})";

    private static string F(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}

public static class ReplayStrategies
{
    public static IReadOnlyList<ReplayStrategy> All { get; } = Enum.GetValues<ReplayStrategy>();

    public static string ToWire(this ReplayStrategy strategy) => strategy switch
    {
        ReplayStrategy.Oracle => "oracle",
        ReplayStrategy.OracleRoute => "oracle-route",
        ReplayStrategy.OracleCascade => "oracle-cascade",
        _ => strategy.AsStrategy().ToWire(),
    };

    /// <summary>The serving strategy a replayed one runs (the oracles are bounds, not strategies).</summary>
    public static StrategyKind AsStrategy(this ReplayStrategy strategy) => strategy <= ReplayStrategy.Reactive
        ? (StrategyKind)((int)strategy + 1) // the same order, StrategyKind counting from 1
        : throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "An oracle is not a serving strategy.");

    public static ReplayStrategy Parse(string text)
    {
        foreach (var strategy in All)
        {
            if (string.Equals(strategy.ToWire(), text.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return strategy;
            }
        }

        throw new FormatException($"Unknown strategy '{text}': expected one of {string.Join(", ", All.Select(a => a.ToWire()))}.");
    }

    /// <summary>Strategies with tunable operating points (the others are single points).</summary>
    public static bool IsTunable(this ReplayStrategy strategy) =>
        strategy is ReplayStrategy.Route or ReplayStrategy.CascadeAbc or ReplayStrategy.CascadeScorer or ReplayStrategy.Proactive or ReplayStrategy.Reactive;
}

/// <summary>What one operating point scored over a query set.</summary>
/// <param name="Correct">The sum of per-query correctness (a count under majority scoring).</param>
/// <param name="SlmAnswers">Queries answered by the SLM alone (no LLM token bought).</param>
/// <param name="Hinted">Queries answered by the SLM after an LLM hint.</param>
/// <param name="LlmAnswers">Queries that bought the LLM's full answer.</param>
public sealed record ReplayResult(ReplayPoint Point, int Queries, double CostUsd, double Correct, int SlmAnswers, int Hinted, int LlmAnswers)
{
    /// <summary>Accuracy as a fraction in [0, 1].</summary>
    public double Accuracy => Queries == 0 ? 0 : Correct / Queries;

    public double AccuracyPercent => 100.0 * Accuracy;

    /// <summary>$ per 1,000 queries.</summary>
    public double CostPer1kUsd => Queries == 0 ? 0 : CostUsd * 1000.0 / Queries;
}
