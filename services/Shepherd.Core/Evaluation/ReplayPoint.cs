using System.Globalization;
using Shepherd.Core.Strategies;

namespace Shepherd.Core.Evaluation;

/// <summary>
/// One operating point of a strategy. Only the fields its strategy reads matter: α (route, proactive, reactive),
/// η_hint (proactive, reactive), k agreeing samples (cascade-abc, reactive), θ the scorer threshold (cascade-scorer),
/// N samples drawn (cascade-abc; 0 = all K the labels hold).
/// </summary>
public readonly record struct ReplayPoint(StrategyKind Strategy, double Alpha = 0, int EtaHint = 0, int Agree = 0, double Threshold = 0, int Samples = 0)
{
    public string Name => Strategy.ToWire();

    /// <summary>The parameters that matter, e.g. "α=0.23 η=58 k=3".</summary>
    public string Parameters => Strategy switch
    {
        StrategyKind.Route => $"α={F(Alpha)}",
        StrategyKind.CascadeAbc => Samples > 0 ? $"{Agree} of N={Samples}" : $"k={Agree}",
        StrategyKind.CascadeScorer => $"θ={F(Threshold)}",
        StrategyKind.Proactive => $"α={F(Alpha)} η={EtaHint}",
        StrategyKind.Reactive => $"α={F(Alpha)} η={EtaHint} k={Agree}",
        _ => "",
    };

    public override string ToString() => Parameters.Length == 0 ? Name : $"{Name} ({Parameters})";

    private static string F(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
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
