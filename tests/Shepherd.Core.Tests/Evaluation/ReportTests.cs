using System.Buffers.Binary;
using System.Globalization;
using Shepherd.Core.Evaluation;
using Shepherd.Core.Policy;
using Shepherd.Reports;
using static Shepherd.Core.Tests.Evaluation.ReplayLabels;

namespace Shepherd.Core.Tests.Evaluation;

public sealed class ReportTests
{
    private static EvaluationReport Report()
    {
        LabelRecord[] records =
        [
            Record("q1", 100, 50, passFrom: 0, agreeMax: 3, consensusPassed: true),
            Record("q2", 200, 100, passFrom: 20, agreeMax: 1),
            Record("q3", 150, 80, passFrom: null, agreeMax: 2),
            Record("q4", 100, 100, passFrom: null, llmPassed: false, agreeMax: 1),
        ];
        var proactive = Scores(PolicyMode.Proactive, 128, ("q1", Score(0.2, 0)), ("q2", Score(0.8, 25)), ("q3", Score(0.9, 200)), ("q4", Score(0.3, 0)));
        var reactive = Scores(PolicyMode.Reactive, 128, ("q1", Score(0.1, 0)), ("q2", Score(0.7, 25)), ("q3", Score(0.95, 40)), ("q4", Score(0.2, 5)));
        var evaluator = new ReplayEvaluator(records, null, proactive, reactive);
        return ReportBuilder.Build(evaluator, new ReportSettings
        {
            Title = "unit replay",
            RouteAlpha = 0.5,
            CascadeAgree = 3,
            ProactiveAlpha = 0.5,
            ProactiveEta = 64,
            ReactiveAlpha = 0.5,
            ReactiveEta = 64,
            ReactiveAgree = 3,
            Grid = ReplayGrid.Default(128),
            Notes = ["stand-in models"],
        });
    }

    [Fact]
    public void TheTableHasTheEndpointsEveryStrategyAndTheOracles()
    {
        var report = Report();

        Assert.Equal(["slm", "llm", "route", "cascade-abc", "cascade-scorer", "proactive", "reactive", "oracle", "oracle-route", "oracle-cascade"], report.Rows.Select(r => r.Strategy));
        var llm = report.Row("llm")!;
        Assert.Equal(75.0, llm.AccuracyPercent, tolerance: 1e-9);
        Assert.Equal(1.0, llm.Ace!.Value, tolerance: 1e-12);
        Assert.Equal(0.0, llm.CostReductionPercent!.Value, tolerance: 1e-12);
        Assert.Null(report.Row("slm")!.Ace);
        // proactive: q2 hinted (200·in + 25·out), q3 to the LLM (150·in + 80·out), q1 and q4 alone: 3 of 4 right.
        var proactive = report.Row("proactive")!;
        Assert.Equal(137.75e-6 + 151.7e-6, proactive.CostUsd, tolerance: 1e-12);
        Assert.Equal(75.0, proactive.AccuracyPercent, tolerance: 1e-9);
        Assert.Equal(((0.75 - 0.25) / 0.5) / (proactive.CostUsd / llm.CostUsd), proactive.Ace!.Value, tolerance: 1e-9);
    }

    [Fact]
    public void TheFloorIsTheCheapestSweptPointReachingIt()
    {
        var report = Report();

        // 0.9 × 75 % = 67.5 %: three of four. Proactive reaches it hinting q2 and routing q3 (η < 200 clipped 128).
        Assert.Equal(67.5, report.FloorAccuracyPercent, tolerance: 1e-9);
        var floor = report.Floor("proactive")!;
        Assert.Equal(137.75e-6 + 151.7e-6, floor.CostUsd!.Value, tolerance: 1e-12);
        Assert.Null(report.Floor("slm")!.CostUsd);
        Assert.Equal(101 * 20, floor.PointsSearched);
        // oracle: q1 free, q2 n* = 20, q3 and q4 the LLM's answer (q4's is wrong, but no hint passed either).
        Assert.Equal(133.8e-6 + 151.7e-6 + 138e-6, report.Floor("oracle")!.CostUsd!.Value, tolerance: 1e-12);
    }

    [Fact]
    public void MarkdownHoldsTheTableTheFloorsAndTheNotes()
    {
        var md = ReportWriters.Markdown(Report());

        Assert.StartsWith("# unit replay\n\n4 queries, replay, scoring Majority.", md, StringComparison.Ordinal);
        Assert.Contains("| strategy | operating point | cost $ | $ / 1k queries | accuracy % | cost reduction % | ACE |\n", md, StringComparison.Ordinal);
        Assert.Contains("| llm | – | 0.000585 | 0.1463 | 75.0 | 0.0 | 1.00 |\n", md, StringComparison.Ordinal);
        Assert.Contains("| slm | – | 0.000000 | 0.0000 | 25.0 | 100.0 | n/a |\n", md, StringComparison.Ordinal);
        Assert.Contains("| proactive | α=0.5 η=64 | 0.000289 | 0.0724 | 75.0 | 50.5 | 2.02 |\n", md, StringComparison.Ordinal);
        Assert.Contains("## Minimum cost at an accuracy floor of 0.9 × LLM-only = 67.5 %", md, StringComparison.Ordinal);
        Assert.Contains("| slm | does not reach the floor | n/a | n/a | n/a | n/a | 1 |", md, StringComparison.Ordinal);
        Assert.Contains("- stand-in models\n", md, StringComparison.Ordinal);
    }

    [Fact]
    public void CsvHasOneParsableRowPerTableRow()
    {
        var report = Report();
        var lines = ReportWriters.Csv(report).TrimEnd('\n').Split('\n');

        Assert.Equal(ReportWriters.CsvHeader, lines[0]);
        Assert.Equal(report.Rows.Count + 1, lines.Length);
        var proactive = lines.Single(l => l.StartsWith("proactive,", StringComparison.Ordinal)).Split(',');
        Assert.Equal("α=0.5 η=64", proactive[1]);
        Assert.Equal("strategy", proactive[2]);
        Assert.Equal("4", proactive[3]);
        Assert.Equal(137.75e-6 + 151.7e-6, double.Parse(proactive[4], CultureInfo.InvariantCulture), tolerance: 1e-15);
        Assert.Equal(75.0, double.Parse(proactive[6], CultureInfo.InvariantCulture), tolerance: 1e-9);
        Assert.Equal(report.Row("proactive")!.Ace!.Value, double.Parse(proactive[8], CultureInfo.InvariantCulture));
        Assert.Equal("", lines.Single(l => l.StartsWith("slm,", StringComparison.Ordinal)).Split(',')[8]);
    }

    [Fact]
    public void JsonRoundTripsTheTableFloorsAndFrontiers()
    {
        var report = Report();

        var json = ReportWriters.Json(report);
        var read = ReportWriters.ReadJson(json)!;

        Assert.Contains("\"floor_accuracy_percent\": 67.5", json, StringComparison.Ordinal);
        Assert.Equal(report.Rows, read.Rows);
        Assert.Equal(report.Floors, read.Floors);
        Assert.Equal(report.Curves.Select(c => c.Frontier.Count), read.Curves.Select(c => c.Frontier.Count));
        Assert.DoesNotContain("\"points\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePlotIsAValidPngOfTheRequestedSize()
    {
        var png = FrontierPlot.RenderPng(Report());

        Assert.True(png.Length > 10_000, $"{png.Length} bytes");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
        Assert.Equal(FrontierPlot.Width, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(FrontierPlot.Height, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
        Assert.Equal("IEND", System.Text.Encoding.ASCII.GetString(png, png.Length - 8, 4));
    }

    [Fact]
    public void WriteAllWritesTheFourFiles()
    {
        var directory = Path.Combine(Path.GetTempPath(), "shepherd-report-" + Guid.NewGuid().ToString("N"));
        try
        {
            var paths = ReportWriters.WriteAll(Report(), directory);

            Assert.Equal(["results.md", "results.csv", "results.json", "frontier.png"], paths.Select(Path.GetFileName));
            Assert.All(paths, p => Assert.True(new FileInfo(p).Length > 100, p));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
