using Shepherd.Cli.Labelling;
using Shepherd.Core.Labelling;
using Shepherd.Core.Policy;
using Shepherd.Reports;

namespace Shepherd.Cli.Tests;

/// <summary>The label figures and the outlier histogram beside a label file, from fixture records (no models).</summary>
public sealed class LabelFiguresTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("shepherd-figures-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public void LabelWritesTheThreeFiguresAndTheHistogramBesideTheLabels()
    {
        var labels = Path.Combine(_work, "gsm8k-train.jsonl");
        // Steps at 0, 30 and 60 %, one that needs the full answer, and one alternating ladder.
        var records = new[]
        {
            Record("a", i => true), Record("b", i => i >= 3), Record("c", i => i >= 6), Record("d", _ => false),
            Record("e", i => i % 2 == 0),
        };
        LabelFile.WriteAll(labels, records.Take(4));
        var stats = new LabelRunStats();
        stats.Labelled.Add(records[4]);

        var drops = OutlierReport.Run(labels, stats, OutlierReading.Step, threshold: 2, interactive: false);
        var figures = LabelFigures.WriteAll(OutlierReport.Labelled(labels, stats), labels, "gsm8k/train");

        Assert.Equal(["gsm8k-train.accuracy-vs-hint.png", "gsm8k-train.nstar.png", "gsm8k-train.outliers.png"], figures.Select(Path.GetFileName));
        Assert.All(figures, f => Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, File.ReadAllBytes(f)[..4]));
        Assert.Equal(["flags,records", "0,4", "1,0", "2,0", "3,0", "4,0", "5,1"], File.ReadAllLines(OutlierReport.HistogramPath(labels)));
        Assert.Equal(1, drops[OutlierReading.Step]);
        // The old reading drops the clean ladders with a middle step as well.
        Assert.Equal(3, drops[OutlierReading.QueryMinority]);
        Assert.Equal((0.0, 40.0), LabelFigures.AccuracyByLevel(records)[0]);
        Assert.Equal(100.0 * 4 / 5, LabelFigures.AccuracyByLevel(records)[^1].Accuracy);
        Assert.Equal(20.0, LabelFigures.NStarShares(records).Single(s => s.Level == "none").Share);
    }

    private static LabelRecord Record(string id, Func<int, bool> passes)
    {
        var levels = Enumerable.Range(0, 10).Select(i => new LabelLevel { Percent = i * 10, HintTokens = i * 3, Passed = passes(i) }).ToArray();
        return new LabelRecord
        {
            Id = id,
            Query = "q " + id,
            Task = "gsm8k",
            NStar = levels.FirstOrDefault(l => l.Passed)?.HintTokens ?? LabelRecord.NoHintSufficed,
            LlmAnswerTokens = 30,
            Levels = levels,
            Split = LabelSplit.Train,
            LlmPassed = id != "d",
        };
    }
}
