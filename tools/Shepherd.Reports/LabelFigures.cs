using ScottPlot;
using Shepherd.Core.Labelling;
using Shepherd.Core.Policy;

namespace Shepherd.Reports;

/// <summary>
/// The paper's label figures, as PNGs beside a label file <c>X.jsonl</c>: accuracy against hint percentage (Figure 2:
/// the share of queries the SLM solves with each level's hint, the full answer at 100 %) → <c>X.accuracy-vs-hint.png</c>;
/// the n* distribution (no hint, each level's share, no hint sufficed) → <c>X.nstar.png</c>; the outlier flag-count
/// histogram of each reading (Figures 4 and 5) → <c>X.outliers.png</c>.
/// </summary>
public static class LabelFigures
{
    public const int Width = 900;
    public const int Height = 560;

    /// <summary>The figure files of a label file, in the order <see cref="WriteAll"/> writes them.</summary>
    public static IReadOnlyList<string> Paths(string labels)
    {
        var stem = Path.ChangeExtension(labels, null);
        return [stem + ".accuracy-vs-hint.png", stem + ".nstar.png", stem + ".outliers.png"];
    }

    /// <summary>Writes the three figures for the records (those the filters dropped included, for the histogram).</summary>
    public static IReadOnlyList<string> WriteAll(IReadOnlyList<LabelRecord> records, string labels, string title)
    {
        var paths = Paths(labels);
        Save(AccuracyVsHint(records, title), paths[0]);
        Save(NStarDistribution(records, title), paths[1]);
        Save(OutlierHistogram(records, title), paths[2]);
        return paths;
    }

    /// <summary>Percent of queries passing at each hint percentage (the SLM alone at 0 %, the LLM's full answer at 100 %).</summary>
    public static IReadOnlyList<(double Percent, double Accuracy)> AccuracyByLevel(IReadOnlyList<LabelRecord> records)
    {
        var points = records.SelectMany(r => r.Levels)
            .GroupBy(l => l.Percent)
            .OrderBy(g => g.Key)
            .Select(g => ((double)g.Key, 100.0 * g.Count(l => l.Passed) / g.Count()))
            .ToList();
        var full = records.Where(r => r.LlmPassed is not null).ToArray();
        if (full.Length > 0)
        {
            points.Add((100, 100.0 * full.Count(r => r.LlmPassed == true) / full.Length));
        }

        return points;
    }

    /// <summary>Share of queries by the hint level n* first passes at ("0 %" = no hint needed; "none" = no hint sufficed).</summary>
    public static IReadOnlyList<(string Level, double Share)> NStarShares(IReadOnlyList<LabelRecord> records)
    {
        var percents = records.SelectMany(r => r.Levels).Select(l => l.Percent).Distinct().Order().ToArray();
        var total = Math.Max(1, records.Count);
        var shares = percents.Select(p => ($"{p} %", 100.0 * records.Count(r => r.NStar != LabelRecord.NoHintSufficed && r.Levels.FirstOrDefault(l => l.Passed)?.Percent == p) / total)).ToList();
        shares.Add(("none", 100.0 * records.Count(r => r.NStar == LabelRecord.NoHintSufficed) / total));
        return shares;
    }

    private static Plot AccuracyVsHint(IReadOnlyList<LabelRecord> records, string title)
    {
        var plot = new Plot();
        var points = AccuracyByLevel(records);
        var line = plot.Add.Scatter(points.Select(p => p.Percent).ToArray(), points.Select(p => p.Accuracy).ToArray());
        line.LineWidth = 2;
        line.MarkerSize = 7;
        line.LegendText = $"{records.Count} queries";
        plot.Title($"{title}: accuracy vs hint (Figure 2)");
        plot.XLabel("hint (% of the LLM's answer; 100 = its full answer)");
        plot.YLabel("accuracy (%)");
        plot.Axes.SetLimits(-2, 102, -2, 102);
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    private static Plot NStarDistribution(IReadOnlyList<LabelRecord> records, string title)
    {
        var plot = new Plot();
        var shares = NStarShares(records);
        var bars = plot.Add.Bars(shares.Select(s => s.Share).ToArray());
        bars.Color = Colors.SteelBlue;
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, shares.Count).Select(i => (double)i)], [.. shares.Select(s => s.Level)]);
        plot.Title($"{title}: n* distribution ({records.Count} queries)");
        plot.XLabel("smallest passing hint level (none = no hint sufficed)");
        plot.YLabel("queries (%)");
        plot.Axes.Margins(bottom: 0);
        return plot;
    }

    private static Plot OutlierHistogram(IReadOnlyList<LabelRecord> records, string title)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var readings = Enum.GetValues<OutlierReading>();
        var filtered = records.Where(r => OutlierFilter.Applies(r.Task)).ToArray();
        for (var i = 0; i < readings.Length; i++)
        {
            var histogram = OutlierFilter.Histogram(OutlierFilter.Count(filtered, readings[i]));
            var bars = plot.Add.Bars(histogram.Select((n, flags) => flags + ((i - 1) * 0.27)).ToArray(), histogram.Select(n => (double)n).ToArray());
            bars.Color = palette.GetColor(i);
            bars.LegendText = OutlierFilter.Name(readings[i]);
            foreach (var bar in bars.Bars)
            {
                bar.Size = 0.25;
            }
        }

        plot.Title($"{title}: outlier flag counts of {filtered.Length} queries (Figures 4–5)");
        plot.XLabel("flagged levels of 11");
        plot.YLabel("queries");
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static void Save(Plot plot, string path)
    {
        using (plot)
        {
            plot.SavePng(path, Width, Height);
        }
    }
}
