using System.Text.Json.Serialization;
using Shepherd.Core.Policy;
using Shepherd.Core.Strategies;

namespace Shepherd.Core.Evaluation;

/// <summary>What calibration optimises (paper.md, "Calibration").</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(AccuracyFloorTarget), "accuracy-floor")]
[JsonDerivedType(typeof(CostTarget), "cost")]
public abstract record CalibrationTarget;

/// <summary>The least cost whose accuracy reaches <see cref="FractionOfLlm"/> × the LLM-only accuracy.</summary>
public sealed record AccuracyFloorTarget(double FractionOfLlm) : CalibrationTarget;

/// <summary>The highest accuracy whose cost stays at or under <see cref="UsdPer1k"/> dollars per 1,000 queries.</summary>
public sealed record CostTarget(double UsdPer1k) : CalibrationTarget;

/// <summary>The outcome of a calibration: the chosen point (null when no point meets the target), and what was searched.</summary>
public sealed record CalibrationResult(
    PolicyMode Mode,
    CalibrationTarget Target,
    ReplayResult? Chosen,
    string? Failure,
    ReplayResult SlmOnly,
    ReplayResult LlmOnly,
    IReadOnlyList<ReplayResult> Points,
    IReadOnlyList<ReplayResult> Frontier);

/// <summary>
/// Grid search of α and η_hint on validation labels, without retraining: every grid point is replayed, the
/// target picks one. Ties go to the more accurate (floor) or cheaper (cost) point, then to the grid's order.
/// </summary>
public static class Calibrator
{
    /// <summary>Accuracy comparisons allow this much floating-point slack.</summary>
    private const double Epsilon = 1e-9;

    /// <param name="agree">k for the reactive mode (consensus before the policy); ignored for proactive.</param>
    public static CalibrationResult Calibrate(ReplayEvaluator evaluator, PolicyMode mode, ReplayGrid grid, CalibrationTarget target, int agree)
    {
        var strategy = mode == PolicyMode.Proactive ? StrategyKind.Proactive : StrategyKind.Reactive;
        var searched = mode == PolicyMode.Reactive ? grid with { Agrees = [agree] } : grid;
        var points = evaluator.Sweep(strategy, searched);
        var slm = evaluator.Evaluate(new ReplayPoint(StrategyKind.Slm));
        var llm = evaluator.Evaluate(new ReplayPoint(StrategyKind.Llm));
        var (chosen, failure) = Choose(points, target, llm);
        return new CalibrationResult(mode, target, chosen, failure, slm, llm, points, ParetoFrontier.Of(points));
    }

    /// <summary>Picks a point of <paramref name="points"/> for the target; the failure says why none qualifies.</summary>
    public static (ReplayResult? Chosen, string? Failure) Choose(IReadOnlyList<ReplayResult> points, CalibrationTarget target, ReplayResult llmOnly)
    {
        switch (target)
        {
            case AccuracyFloorTarget floor:
            {
                var required = floor.FractionOfLlm * llmOnly.Accuracy;
                var chosen = points
                    .Where(p => p.Accuracy >= required - Epsilon)
                    .OrderBy(p => p.CostUsd)
                    .ThenByDescending(p => p.Accuracy)
                    .FirstOrDefault();
                return chosen is null
                    ? (null, $"no grid point reaches {100 * required:F2}% accuracy ({floor.FractionOfLlm:0.###} × LLM-only {llmOnly.AccuracyPercent:F2}%); best {points.Max(p => p.AccuracyPercent):F2}%")
                    : (chosen, null);
            }

            case CostTarget cost:
            {
                var chosen = points
                    .Where(p => p.CostPer1kUsd <= cost.UsdPer1k + Epsilon)
                    .OrderByDescending(p => p.Accuracy)
                    .ThenBy(p => p.CostUsd)
                    .FirstOrDefault();
                return chosen is null
                    ? (null, $"no grid point costs at most ${cost.UsdPer1k:0.####} per 1k queries; cheapest ${points.Min(p => p.CostPer1kUsd):0.####}")
                    : (chosen, null);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(target), target, "Unknown calibration target.");
        }
    }
}
