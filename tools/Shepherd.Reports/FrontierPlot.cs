using ScottPlot;
using Shepherd.Core.Evaluation;

namespace Shepherd.Reports;

/// <summary>
/// The cost–accuracy plot (frontier.png): x = $ per 1,000 queries, y = accuracy %. Each tunable strategy's
/// operating points as faint dots and its Pareto frontier as a line; SLM-only, LLM-only and the oracles as
/// large markers; the accuracy floor as a dashed line.
/// </summary>
public static class FrontierPlot
{
    public const int Width = 1000;
    public const int Height = 640;

    public static void SavePng(EvaluationReport report, string path, int width = Width, int height = Height)
    {
        using var plot = Build(report);
        plot.SavePng(path, width, height);
    }

    public static byte[] RenderPng(EvaluationReport report, int width = Width, int height = Height)
    {
        using var plot = Build(report);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    private static Plot Build(EvaluationReport report)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var index = 0;
        foreach (var curve in report.Curves)
        {
            var color = palette.GetColor(index++);
            if (curve.Points.Count > 0)
            {
                var dots = plot.Add.ScatterPoints(curve.Points.Select(p => p.CostPer1kUsd).ToArray(), curve.Points.Select(p => p.AccuracyPercent).ToArray(), color.WithAlpha(0.25));
                dots.MarkerSize = 3;
            }

            if (curve.Frontier.Count > 0)
            {
                var line = plot.Add.Scatter(curve.Frontier.Select(p => p.CostPer1kUsd).ToArray(), curve.Frontier.Select(p => p.AccuracyPercent).ToArray(), color);
                line.LineWidth = 2;
                line.MarkerSize = 6;
                line.ConnectStyle = ConnectStyle.StepHorizontal;
                line.LegendText = curve.Strategy;
            }
        }

        foreach (var row in report.Rows.Where(r => r.Role != "strategy"))
        {
            var (shape, color) = row.Strategy switch
            {
                "slm" => (MarkerShape.FilledSquare, Colors.Gray),
                "llm" => (MarkerShape.FilledSquare, Colors.Black),
                "oracle" => (MarkerShape.FilledDiamond, Colors.Gold),
                _ => (MarkerShape.OpenDiamond, Colors.DarkGoldenRod),
            };
            var marker = plot.Add.Marker(row.CostPer1kUsd, row.AccuracyPercent, shape, 12, color);
            marker.LegendText = row.Strategy switch
            {
                "slm" => "SLM-only",
                "llm" => "LLM-only",
                _ => row.Strategy,
            };
        }

        var floor = plot.Add.HorizontalLine(report.FloorAccuracyPercent, 1, Colors.Red, LinePattern.Dashed);
        floor.LegendText = $"floor {report.FloorFraction:0.##} × LLM";

        plot.Title(report.Title);
        plot.XLabel("cost ($ per 1,000 queries)");
        plot.YLabel("accuracy (%)");
        plot.ShowLegend(Alignment.LowerRight);
        // Accuracy is a percentage: a fixed 0–100 axis keeps plots of different runs comparable.
        plot.Axes.AutoScale();
        plot.Axes.SetLimitsY(-2, 102);
        return plot;
    }
}
