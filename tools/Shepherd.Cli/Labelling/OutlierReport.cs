using System.Globalization;
using Shepherd.Core.Labelling;
using Shepherd.Core.Policy;
using Spectre.Console;

namespace Shepherd.Cli.Labelling;

/// <summary>
/// After a training run: applies the level-majority reading (it needs the whole set), prints which reading is in
/// force and how many records each reading would drop, and writes the flag-count histogram beside the labels.
/// </summary>
public static class OutlierReport
{
    /// <summary>The histogram file of a label file: <c>X.jsonl</c> → <c>X.outliers.csv</c>.</summary>
    public static string HistogramPath(string labels) => Path.ChangeExtension(labels, null) + ".outliers.csv";

    /// <summary>Every labelled training record: those in the file and those the run dropped.</summary>
    public static IReadOnlyList<LabelRecord> Labelled(string labels, LabelRunStats stats)
    {
        var inFile = File.Exists(labels) ? LabelFile.ReadAll(labels) : [];
        var ids = inFile.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        return [.. inFile, .. stats.Labelled.Where(r => !ids.Contains(r.Id))];
    }

    /// <summary>Applies, reports and writes; returns the records each reading drops (reading → count).</summary>
    public static IReadOnlyDictionary<OutlierReading, int> Run(string labels, LabelRunStats stats, OutlierReading reading, int threshold, bool interactive)
    {
        var labelled = Labelled(labels, stats).Where(r => OutlierFilter.Applies(r.Task)).ToArray();
        if (labelled.Length == 0)
        {
            return new Dictionary<OutlierReading, int>();
        }

        var counts = OutlierFilter.Count(labelled, reading);
        if (reading == OutlierReading.LevelMajority && threshold > 0)
        {
            var drop = counts.Where(c => c.Flags >= threshold).Select(c => c.Record.Id).ToHashSet(StringComparer.Ordinal);
            var kept = LabelFile.ReadAll(labels).Where(r => !drop.Contains(r.Id)).ToArray();
            var temporary = labels + ".tmp";
            LabelFile.WriteAll(temporary, kept);
            File.Move(temporary, labels, overwrite: true);
        }

        var histogram = OutlierFilter.Histogram(counts);
        File.WriteAllLines(HistogramPath(labels), ["flags,records", .. histogram.Select((n, flags) => string.Create(CultureInfo.InvariantCulture, $"{flags},{n}"))]);
        var byReading = Enum.GetValues<OutlierReading>().ToDictionary(r => r, r => OutlierFilter.Dropped(labelled, r, threshold > 0 ? threshold : OutlierFilter.DefaultThreshold(r)));
        if (interactive)
        {
            AnsiConsole.MarkupLine(threshold > 0
                ? $"outlier filter in force: [bold]{OutlierFilter.Name(reading)}[/], threshold {threshold} over 11 outcomes (levels 0–90 % and the full answer): drops {byReading[reading]} of {labelled.Length}"
                : "outlier filter: off");
            AnsiConsole.MarkupLine("  each reading at that threshold would drop: "
                + string.Join(", ", byReading.Select(kv => $"{OutlierFilter.Name(kv.Key)} {kv.Value}")));
            AnsiConsole.MarkupLine($"  flag counts ({OutlierFilter.Name(reading)}): {string.Join(" ", histogram.Select((n, f) => $"{f}:{n}"))} → {Markup.Escape(HistogramPath(labels))}");
        }

        return byReading;
    }
}
