using Shepherd.Core.Strategies;

namespace Shepherd.Core.Evaluation;

/// <summary>The operating points the table shows, and how the floor and curves are searched.</summary>
public sealed record ReportSettings
{
    public string Title { get; init; } = "Shepherd replay";

    /// <summary>The accuracy floor as a fraction of LLM-only accuracy (the paper's 90 %).</summary>
    public double FloorFraction { get; init; } = 0.9;

    /// <summary>route's α (live: the proactive bundle's α).</summary>
    public double RouteAlpha { get; init; } = 0.5;

    /// <summary>cascade-abc's k.</summary>
    public int CascadeAgree { get; init; } = 2;

    /// <summary>cascade-abc's N samples drawn (0 = the K the labels hold; the CLI sets the paper's 2 when labels keep each sample).</summary>
    public int CascadeSamples { get; init; }

    /// <summary>cascade-scorer's θ (live: Orchestrator:ScorerThreshold).</summary>
    public double ScorerThreshold { get; init; } = 0.5;

    public double ProactiveAlpha { get; init; } = 0.5;

    public int ProactiveEta { get; init; } = 64;

    public double ReactiveAlpha { get; init; } = 0.5;

    public int ReactiveEta { get; init; } = 64;

    public int ReactiveAgree { get; init; } = 3;

    /// <summary>The grid each tunable strategy is swept over for the floor and the curves.</summary>
    public ReplayGrid Grid { get; init; } = ReplayGrid.Default(256);

    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>Builds the paper's table, the floor costs and the curves from a replay.</summary>
public static class ReportBuilder
{
    public static EvaluationReport Build(ReplayEvaluator evaluator, ReportSettings settings)
    {
        var slm = evaluator.Evaluate(new ReplayPoint(StrategyKind.Slm));
        var llm = evaluator.Evaluate(new ReplayPoint(StrategyKind.Llm));
        var notes = new List<string>(settings.Notes);
        var rows = new List<ReportRow> { Row(slm, "endpoint", slm, llm), Row(llm, "endpoint", slm, llm) };
        var floors = new List<FloorRow>();
        var curves = new List<StrategyCurve>();
        var required = settings.FloorFraction * llm.Accuracy;

        foreach (var strategy in StrategyNames.Evaluated)
        {
            if (!evaluator.CanRun(strategy, out var reason))
            {
                notes.Add($"{strategy.ToWire()}: skipped ({reason})");
                continue;
            }

            var points = strategy.IsTunable() ? evaluator.Sweep(strategy, settings.Grid) : [evaluator.Evaluate(new ReplayPoint(strategy))];
            if (strategy is not (StrategyKind.Slm or StrategyKind.Llm))
            {
                var shown = strategy.IsTunable() ? evaluator.Evaluate(TablePoint(strategy, settings)) : points[0];
                rows.Add(Row(shown, strategy is StrategyKind.Oracle or StrategyKind.OracleRoute or StrategyKind.OracleCascade ? "oracle" : "strategy", slm, llm));
            }

            var (cheapest, _) = Calibrator.Choose(points, new AccuracyFloorTarget(settings.FloorFraction), llm);
            floors.Add(new FloorRow(
                strategy.ToWire(),
                cheapest?.Point.Parameters,
                cheapest?.CostUsd,
                cheapest?.CostPer1kUsd,
                cheapest?.AccuracyPercent,
                cheapest is null ? null : AccuracyPerCost.CostReductionPercent(cheapest.CostUsd, llm.CostUsd),
                points.Count));
            if (strategy.IsTunable())
            {
                curves.Add(new StrategyCurve(strategy.ToWire(), ParetoFrontier.Of(points).Select(Curve).ToArray()) { Points = points.Select(Curve).ToArray() });
            }
        }

        if (!(llm.Accuracy > slm.Accuracy))
        {
            notes.Add("LLM-only is not more accurate than SLM-only here, so ACE is undefined or meaningless");
        }

        return new EvaluationReport(
            settings.Title,
            "replay",
            evaluator.Count,
            evaluator.Options.Trials is { } trials ? $"{evaluator.Options.Scoring} (--trials {trials})" : evaluator.Options.Scoring.ToString(),
            settings.FloorFraction,
            100 * required,
            rows,
            floors,
            curves,
            notes);
    }

    /// <summary>The point the table shows for a tunable strategy (the bundles' calibrated α and η).</summary>
    public static ReplayPoint TablePoint(StrategyKind strategy, ReportSettings settings) => strategy switch
    {
        StrategyKind.Route => new(strategy, Alpha: settings.RouteAlpha),
        StrategyKind.CascadeAbc => new(strategy, Agree: settings.CascadeAgree, Samples: settings.CascadeSamples),
        StrategyKind.CascadeScorer => new(strategy, Threshold: settings.ScorerThreshold),
        StrategyKind.Proactive => new(strategy, Alpha: settings.ProactiveAlpha, EtaHint: settings.ProactiveEta),
        StrategyKind.Reactive => new(strategy, Alpha: settings.ReactiveAlpha, EtaHint: settings.ReactiveEta, Agree: settings.ReactiveAgree),
        _ => new(strategy),
    };

    private static ReportRow Row(ReplayResult r, string role, ReplayResult slm, ReplayResult llm) => new(
        r.Point.Name,
        r.Point.Parameters,
        role,
        r.Queries,
        r.CostUsd,
        r.CostPer1kUsd,
        r.AccuracyPercent,
        AccuracyPerCost.CostReductionPercent(r.CostUsd, llm.CostUsd),
        r.Point.Strategy == StrategyKind.Slm ? null : AccuracyPerCost.Ace(r.Accuracy, r.CostUsd, slm.Accuracy, llm.Accuracy, llm.CostUsd),
        r.SlmAnswers,
        r.Hinted,
        r.LlmAnswers);

    private static CurvePoint Curve(ReplayResult r) => new(r.CostUsd, r.CostPer1kUsd, r.AccuracyPercent, r.Point.Parameters);
}
