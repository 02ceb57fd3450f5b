using System.Diagnostics;
using System.Globalization;
using Shepherd.Core.Evaluation;
using Shepherd.Core.Policy;
using Shepherd.Core.Strategies;

namespace Shepherd.Benchmarks;

/// <summary>
/// Replay throughput: a seeded synthetic test set of labelled queries (random ladders, consensus and policy
/// scores), replayed over a calibration grid of α × η_hint points (101 × 20 by default), single-threaded.
/// Reports query·points per second for the proactive grid (one calibration), the reactive grid (α × η × k), and
/// a whole report (every strategy swept, the table, the floors). Args: [queries, default 2000] [repeats, default 5].
/// </summary>
public static class ReplayBench
{
    public static Task<int> RunAsync(string[] args, TextWriter output)
    {
        var queries = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
        var repeats = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        var (records, proactive, reactive) = Population(queries, seed: 42);

        var build = Stopwatch.StartNew();
        var evaluator = new ReplayEvaluator(records, null, proactive, reactive);
        build.Stop();
        var grid = ReplayGrid.Default(256);
        output.WriteLine($"replay bench: {queries} queries, grid {grid.Alphas.Count} α × {grid.Etas.Count} η, K = {evaluator.Samples}, {Environment.ProcessorCount} cores (one used)");
        output.WriteLine($"compile labels: {build.Elapsed.TotalMilliseconds:F1} ms ({queries / build.Elapsed.TotalSeconds:N0} queries/s)");

        Measure(output, "proactive calibration grid", repeats, () => evaluator.Sweep(StrategyKind.Proactive, grid).Count, queries);
        Measure(output, "reactive grid (α × η × k)", repeats, () => evaluator.Sweep(StrategyKind.Reactive, grid).Count, queries);
        Measure(output, "calibrate (sweep + choice)", repeats, () => Calibrator.Calibrate(evaluator, PolicyMode.Proactive, grid, new AccuracyFloorTarget(0.9), 3).Points.Count, queries);
        Measure(output, "whole report, every strategy", repeats, () => ReportBuilder.Build(evaluator, new ReportSettings { Grid = grid }).Floors.Sum(f => f.PointsSearched), queries);
        return Task.FromResult(0);
    }

    private static void Measure(TextWriter output, string name, int repeats, Func<int> run, int queries)
    {
        run(); // warm-up: JIT and caches
        var seconds = new List<double>();
        var points = 0;
        for (var i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            points = run();
            seconds.Add(watch.Elapsed.TotalSeconds);
        }

        var median = Stats.Median(seconds);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-30} {points,6} points  median {median * 1000,8:F1} ms  {queries * (double)points / median / 1e6,8:F1} M query·points/s  ({points / median,10:N0} points/s)"));
    }

    /// <summary>Queries shaped like GSM8K labels: most need no hint, hint sizes decay, a few are unsolvable.</summary>
    public static (IReadOnlyList<LabelRecord> Records, PolicyScores Proactive, PolicyScores Reactive) Population(int count, int seed)
    {
        var random = new Random(seed);
        var records = new List<LabelRecord>(count);
        var pro = new Dictionary<string, PolicyScore>(count);
        var re = new Dictionary<string, PolicyScore>(count);
        for (var i = 0; i < count; i++)
        {
            var answer = random.Next(40, 400);
            var need = random.NextDouble() switch { < 0.75 => 0, < 0.97 => random.Next(1, 10), _ => 10 };
            var levels = Enumerable.Range(0, 10)
                .Select(p => new LabelLevel { Percent = p * 10, HintTokens = p * 10 * answer / 100, Passed = p >= need })
                .ToArray();
            var id = "b" + i.ToString(CultureInfo.InvariantCulture);
            records.Add(new LabelRecord
            {
                Id = id,
                Query = id,
                Task = "gsm8k",
                NStar = need < 10 ? levels[need].HintTokens : LabelRecord.NoHintSufficed,
                LlmAnswerTokens = answer,
                Levels = levels,
                Split = LabelSplit.Test,
                LlmPassed = random.NextDouble() < 0.95,
                LlmPromptTokens = random.Next(60, 300),
                SlmPromptTokens = random.Next(60, 300),
                SlmAnswerTokens = random.Next(50, 300),
                Samples = 3,
                AgreeMax = need == 0 ? random.Next(2, 4) : random.Next(1, 3),
                ConsensusPassed = need == 0,
            });
            var noisy = Math.Clamp((need > 0 ? 0.7 : 0.2) + (random.NextDouble() - 0.5) * 0.6, 0, 1);
            pro[id] = new PolicyScore(noisy, Math.Log(1 + answer * Math.Min(need, 9) / 10.0 + random.Next(0, 20)));
            re[id] = new PolicyScore(Math.Clamp(noisy + (random.NextDouble() - 0.5) * 0.2, 0, 1), Math.Log(1 + answer * Math.Min(need, 9) / 10.0));
        }

        return (records, new PolicyScores(PolicyMode.Proactive, 256, pro), new PolicyScores(PolicyMode.Reactive, 256, re));
    }
}
