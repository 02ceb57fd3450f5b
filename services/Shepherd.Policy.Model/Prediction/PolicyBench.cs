using System.Diagnostics;
using System.Globalization;

namespace Shepherd.Policy.Model.Prediction;

public sealed record PolicyBenchOptions
{
    public int Warmup { get; init; } = 30;

    /// <summary>Sequential single-query calls timed for the latency percentiles.</summary>
    public int Iterations { get; init; } = 300;

    /// <summary>Queries per PredictBatch call.</summary>
    public int BatchSize { get; init; } = 32;

    public int Batches { get; init; } = 20;

    /// <summary>Concurrent single-query callers (exercises the service's micro-batching).</summary>
    public int Concurrency { get; init; } = 8;

    public int ConcurrentCallsPerCaller { get; init; } = 40;
}

/// <summary>The figures of one run.</summary>
public sealed record PolicyBenchReport(
    string Label,
    double SingleP50Ms,
    double SingleP90Ms,
    double SingleP99Ms,
    double SingleMeanMs,
    double BatchQueriesPerSecond,
    double BatchCallMs,
    double ConcurrentQueriesPerSecond,
    double ConcurrentP50Ms,
    double ConcurrentP99Ms)
{
    public string Format() => string.Create(CultureInfo.InvariantCulture,
        $"{Label}: Predict p50 {SingleP50Ms:0.00} ms, p90 {SingleP90Ms:0.00} ms, p99 {SingleP99Ms:0.00} ms, mean {SingleMeanMs:0.00} ms | " +
        $"PredictBatch {BatchQueriesPerSecond:0} queries/s ({BatchCallMs:0.0} ms per call) | " +
        $"concurrent Predict {ConcurrentQueriesPerSecond:0} queries/s, p50 {ConcurrentP50Ms:0.00} ms, p99 {ConcurrentP99Ms:0.00} ms");
}

/// <summary>One way to call the policy (in process, over gRPC, ...), for <see cref="PolicyBench.CompareAsync"/>.</summary>
public sealed record PolicyBenchSide(
    string Label,
    Func<string, CancellationToken, Task> PredictOne,
    Func<IReadOnlyList<string>, CancellationToken, Task> PredictBatch);

/// <summary>One side's figures from an interleaved comparison.</summary>
/// <param name="BatchQueriesPerSecond">Queries over the summed time of the side's PredictBatch calls.</param>
/// <param name="BatchCallMaxMs">The slowest PredictBatch call: a stall (a starved thread pool, a GC) shows here.</param>
/// <param name="BatchCallMaxIndex">Which PredictBatch call (0 = the first) was the slowest.</param>
public sealed record PolicyPairedReport(
    string Label, double SingleP50Ms, double SingleP90Ms, double BatchQueriesPerSecond, double BatchCallP50Ms, double BatchCallMaxMs, int BatchCallMaxIndex);

/// <summary>
/// Measures the policy the way callers see it: sequential single-query latency (p50/p90/p99), PredictBatch
/// throughput, and throughput under concurrent single-query callers. The transport is the caller's: pass
/// delegates over a <see cref="PolicyPredictor"/> (in-process) or a gRPC client.
/// </summary>
public static class PolicyBench
{
    public static async Task<PolicyBenchReport> RunAsync(
        TextWriter output,
        string label,
        IReadOnlyList<string> queries,
        Func<string, CancellationToken, Task> predictOne,
        Func<IReadOnlyList<string>, CancellationToken, Task> predictBatch,
        PolicyBenchOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new PolicyBenchOptions();
        if (queries.Count == 0)
        {
            throw new ArgumentException("The benchmark needs queries.", nameof(queries));
        }

        for (var i = 0; i < options.Warmup; i++)
        {
            await predictOne(queries[i % queries.Count], cancellationToken);
        }

        var single = new double[options.Iterations];
        for (var i = 0; i < single.Length; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await predictOne(queries[i % queries.Count], cancellationToken);
            single[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        await predictBatch(Batch(queries, 0, options.BatchSize), cancellationToken);
        var batchStarted = Stopwatch.GetTimestamp();
        for (var b = 0; b < options.Batches; b++)
        {
            await predictBatch(Batch(queries, b * options.BatchSize, options.BatchSize), cancellationToken);
        }

        var batchSeconds = Stopwatch.GetElapsedTime(batchStarted).TotalSeconds;

        var (concurrentPerSecond, all) = await ConcurrentAsync(queries, predictOne, options, cancellationToken);
        var report = new PolicyBenchReport(
            label,
            Percentile(single, 0.50),
            Percentile(single, 0.90),
            Percentile(single, 0.99),
            single.Average(),
            options.Batches * options.BatchSize / batchSeconds,
            batchSeconds * 1000 / options.Batches,
            concurrentPerSecond,
            Percentile(all, 0.50),
            Percentile(all, 0.99));
        await output.WriteLineAsync(report.Format());
        return report;
    }

    /// <summary>
    /// Ways to call the policy measured call by call in turn: each iteration times one call of every side, the
    /// order rotating, so a slow second on a shared machine lands on every side alike and the sides' figures can be
    /// compared within one run (separate blocks of calls differ by up to 20 % on a noisy 2-core VM). Every side
    /// answers the same queries. Only sequential calls: concurrent callers cannot be interleaved.
    /// </summary>
    public static async Task<IReadOnlyList<PolicyPairedReport>> CompareAsync(
        IReadOnlyList<string> queries, IReadOnlyList<PolicyBenchSide> sides, PolicyBenchOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new PolicyBenchOptions();
        if (queries.Count == 0 || sides.Count == 0)
        {
            throw new ArgumentException("The comparison needs queries and at least one side.");
        }

        for (var i = 0; i < options.Warmup; i++)
        {
            foreach (var side in sides)
            {
                await side.PredictOne(queries[i % queries.Count], cancellationToken);
            }
        }

        var single = sides.Select(_ => new double[options.Iterations]).ToArray();
        for (var i = 0; i < options.Iterations; i++)
        {
            for (var k = 0; k < sides.Count; k++)
            {
                var s = (i + k) % sides.Count;
                var started = Stopwatch.GetTimestamp();
                await sides[s].PredictOne(queries[i % queries.Count], cancellationToken);
                single[s][i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }

        var batch = sides.Select(_ => new double[options.Batches]).ToArray();
        for (var b = 0; b < options.Batches; b++)
        {
            var texts = Batch(queries, b * options.BatchSize, options.BatchSize);
            for (var k = 0; k < sides.Count; k++)
            {
                var s = (b + k) % sides.Count;
                var started = Stopwatch.GetTimestamp();
                await sides[s].PredictBatch(texts, cancellationToken);
                batch[s][b] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }

        return sides.Select((side, s) =>
        {
            var slowest = batch[s].Max();
            return new PolicyPairedReport(
                side.Label,
                Percentile(single[s], 0.50),
                Percentile(single[s], 0.90),
                options.Batches * options.BatchSize / (batch[s].Sum() / 1000),
                Percentile(batch[s], 0.50),
                slowest,
                Array.IndexOf(batch[s], slowest));
        }).ToArray();
    }

    /// <summary>Concurrent single-query callers: queries per second and every call's latency in ms.</summary>
    public static async Task<(double QueriesPerSecond, double[] LatenciesMs)> ConcurrentAsync(
        IReadOnlyList<string> queries, Func<string, CancellationToken, Task> predictOne, PolicyBenchOptions options, CancellationToken cancellationToken = default)
    {
        var concurrent = new List<double>[options.Concurrency];
        var concurrentStarted = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, options.Concurrency).Select(async caller =>
        {
            var timings = concurrent[caller] = new List<double>(options.ConcurrentCallsPerCaller);
            for (var i = 0; i < options.ConcurrentCallsPerCaller; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await predictOne(queries[(caller * 7919 + i) % queries.Count], cancellationToken);
                timings.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }));
        var seconds = Stopwatch.GetElapsedTime(concurrentStarted).TotalSeconds;
        var all = concurrent.SelectMany(t => t).ToArray();
        return (all.Length / seconds, all);
    }

    /// <summary>The in-process side of a comparison: the predictor called directly, no transport.</summary>
    public static PolicyBenchSide InProcess(PolicyPredictor predictor, string label = "in-process") => new(
        label,
        (text, ct) => Task.FromResult(predictor.Predict(new PolicyQuery(text), ct)),
        (texts, ct) => Task.FromResult(predictor.Predict(texts.Select(t => new PolicyQuery(t)).ToArray(), ct)));

    /// <summary>The benchmark straight on a predictor, no transport.</summary>
    public static Task<PolicyBenchReport> RunInProcessAsync(
        TextWriter output, PolicyPredictor predictor, IReadOnlyList<PolicyQuery> queries, PolicyBenchOptions? options = null, CancellationToken cancellationToken = default)
    {
        var byText = queries.GroupBy(q => q.Text, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        return RunAsync(
            output,
            "in-process",
            [.. byText.Keys],
            (text, ct) => Task.FromResult(predictor.Predict(byText[text], ct)),
            (texts, ct) => Task.FromResult(predictor.Predict(texts.Select(t => byText[t]).ToArray(), ct)),
            options,
            cancellationToken);
    }

    /// <summary>The nearest-rank percentile.</summary>
    public static double Percentile(IReadOnlyList<double> values, double quantile)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(quantile * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    private static string[] Batch(IReadOnlyList<string> queries, int start, int size) =>
        Enumerable.Range(start, size).Select(i => queries[i % queries.Count]).ToArray();
}
