using System.Text.Json.Serialization;

namespace Shepherd.Core.Evaluation;

/// <summary>One row of the paper's table.</summary>
/// <param name="Role">"endpoint" (SLM-only, LLM-only), "strategy" or "oracle".</param>
/// <param name="Ace">Null for SLM-only (excluded from ACE) and where ACE is undefined.</param>
public sealed record ReportRow(
    string Strategy,
    string Parameters,
    string Role,
    int Queries,
    double CostUsd,
    double CostPer1kUsd,
    double AccuracyPercent,
    double? CostReductionPercent,
    double? Ace,
    int SlmAnswers,
    int Hinted,
    int LlmAnswers);

/// <summary>The cheapest operating point of a strategy reaching the accuracy floor; nulls when none does.</summary>
public sealed record FloorRow(
    string Strategy,
    string? Parameters,
    double? CostUsd,
    double? CostPer1kUsd,
    double? AccuracyPercent,
    double? CostReductionPercent,
    int PointsSearched);

/// <summary>A point of a cost–accuracy curve.</summary>
public sealed record CurvePoint(double CostUsd, double CostPer1kUsd, double AccuracyPercent, string Parameters);

/// <summary>A strategy's operating points (all, for the plot) and their Pareto frontier.</summary>
public sealed record StrategyCurve(string Strategy, IReadOnlyList<CurvePoint> Frontier)
{
    /// <summary>Every point searched; the plot draws them, the JSON leaves them out (they can be thousands).</summary>
    [JsonIgnore]
    public IReadOnlyList<CurvePoint> Points { get; init; } = [];

    public int PointCount => Points.Count;
}

/// <summary>What an evaluation reports: the table, the floor costs, the curves (issue 6, "Both give").</summary>
public sealed record EvaluationReport(
    string Title,
    string Mode,
    int Queries,
    string Scoring,
    double FloorFraction,
    double FloorAccuracyPercent,
    IReadOnlyList<ReportRow> Rows,
    IReadOnlyList<FloorRow> Floors,
    IReadOnlyList<StrategyCurve> Curves,
    IReadOnlyList<string> Notes)
{
    public ReportRow? Row(string strategy) => Rows.FirstOrDefault(r => r.Strategy == strategy);

    public FloorRow? Floor(string strategy) => Floors.FirstOrDefault(r => r.Strategy == strategy);
}
