using System.Globalization;
using Shepherd.Core.Evaluation;
using Spectre.Console;
using Shepherd.Core.Strategies;

namespace Shepherd.Cli.Evaluation;

/// <summary>Renders reports and calibration frontiers on the terminal.</summary>
public static class ReportConsole
{
    public static void Write(EvaluationReport report)
    {
        var table = new Table().Title(Markup.Escape(report.Title))
            .AddColumns("strategy", "operating point", "cost $", "$ / 1k", "accuracy %", "cost reduction %", "ACE", "SLM / hint / LLM");
        foreach (var r in report.Rows)
        {
            var name = r.Role == "strategy" ? r.Strategy : $"[grey]{r.Strategy}[/]";
            table.AddRow(name, Markup.Escape(r.Parameters), F(r.CostUsd, "F6"), F(r.CostPer1kUsd, "F4"), F(r.AccuracyPercent, "F1"), F(r.CostReductionPercent, "F1"), F(r.Ace, "F2"), $"{r.SlmAnswers} / {r.Hinted} / {r.LlmAnswers}");
        }

        AnsiConsole.Write(table);
        var floors = new Table().Title($"minimum cost at accuracy ≥ {report.FloorAccuracyPercent:F1} % ({report.FloorFraction:0.###} × LLM-only)")
            .AddColumns("strategy", "cheapest point", "cost $", "$ / 1k", "accuracy %", "points searched");
        foreach (var f in report.Floors.OrderBy(f => f.CostUsd ?? double.PositiveInfinity))
        {
            floors.AddRow(f.Strategy, f.CostUsd is null ? "[red]not reached[/]" : Markup.Escape(f.Parameters ?? ""), F(f.CostUsd, "F6"), F(f.CostPer1kUsd, "F4"), F(f.AccuracyPercent, "F1"), f.PointsSearched.ToString(CultureInfo.InvariantCulture));
        }

        AnsiConsole.Write(floors);
        foreach (var note in report.Notes)
        {
            AnsiConsole.MarkupLine($"[grey]- {Markup.Escape(note)}[/]");
        }
    }

    public static void Write(CalibrationResult result)
    {
        var table = new Table().Title($"{result.Mode.ToString().ToLowerInvariant()} frontier: {result.Points.Count} grid points, {result.Frontier.Count} on the frontier")
            .AddColumns("α", "η_hint", "k", "$ / 1k", "accuracy %", "SLM / hint / LLM", "");
        foreach (var p in result.Frontier)
        {
            var chosen = result.Chosen is { } c && c.Point == p.Point;
            table.AddRow(
                F(p.Point.Alpha, "0.###"),
                p.Point.EtaHint.ToString(CultureInfo.InvariantCulture),
                p.Point.Strategy == StrategyKind.Reactive ? p.Point.Agree.ToString(CultureInfo.InvariantCulture) : "–",
                F(p.CostPer1kUsd, "F4"),
                F(p.AccuracyPercent, "F1"),
                $"{p.SlmAnswers} / {p.Hinted} / {p.LlmAnswers}",
                chosen ? "[green]chosen[/]" : "");
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"SLM-only {result.SlmOnly.AccuracyPercent:F1} % at ${result.SlmOnly.CostPer1kUsd:F4} / 1k; LLM-only {result.LlmOnly.AccuracyPercent:F1} % at ${result.LlmOnly.CostPer1kUsd:F4} / 1k");
        if (result.Chosen is { } point)
        {
            if (!result.Frontier.Any(f => f.Point == point.Point))
            {
                AnsiConsole.MarkupLine("[grey](the chosen point ties a frontier point's cost and accuracy)[/]");
            }

            AnsiConsole.MarkupLine($"[green]chosen: {Markup.Escape(point.Point.Parameters)}: {point.AccuracyPercent:F1} % at ${point.CostPer1kUsd:F4} / 1k[/]");
        }
        else
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(result.Failure ?? "no point chosen")}[/]");
        }
    }

    private static string F(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a";
}
