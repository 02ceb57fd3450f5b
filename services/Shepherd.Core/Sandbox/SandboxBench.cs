using System.Diagnostics;
using System.Globalization;
using Shepherd.Core.Datasets;
using Shepherd.Core.Grading;

namespace Shepherd.Core.Sandbox;

/// <summary>Throughput of HumanEval canonical solutions through the sandbox and its per-run overhead.</summary>
public sealed record SandboxBenchResult(
    int Items,
    double ItemsPerSecondParallel1,
    double ItemsPerSecondParallel2,
    int Passed,
    double MedianSandboxRunMs,
    double MedianBarePythonMs,
    SandboxIsolation Isolation)
{
    public double OverheadMs => MedianSandboxRunMs - MedianBarePythonMs;
}

/// <summary>A plain measurement (no BenchmarkDotNet) the CLI can call: graded items/s at parallelism 1 and 2 for
/// the 164 HumanEval canonical solutions, and the median wall time of a sandboxed <c>pass</c> against bare
/// <c>python3 -c pass</c>.</summary>
public static class SandboxBench
{
    public static async Task<SandboxBenchResult> RunAsync(TextWriter log, string? dataDirectory = null, int overheadSamples = 30, CancellationToken cancellationToken = default)
    {
        var items = DatasetCatalog.Load(HumanEvalLoader.Name, DatasetSplits.Test, dataDirectory);
        var programs = items.Select(item => ProgramBuilder.HumanEval(item, item.Reference)).ToList();
        await log.WriteLineAsync($"HumanEval canonical solutions: {programs.Count} programs; {Environment.ProcessorCount} cores").ConfigureAwait(false);

        var rates = new Dictionary<int, double>();
        var passed = 0;
        SandboxIsolation? isolation = null;
        foreach (var parallelism in new[] { 1, 2 })
        {
            using var sandbox = new PythonSandbox(new SandboxOptions { MaxParallelism = parallelism });
            isolation = await sandbox.GetIsolationAsync().ConfigureAwait(false);
            await sandbox.RunAsync("pass\n", cancellationToken).ConfigureAwait(false);
            var watch = Stopwatch.StartNew();
            var results = await Task.WhenAll(programs.Select(p => sandbox.RunAsync(p, cancellationToken))).ConfigureAwait(false);
            watch.Stop();
            passed = results.Count(r => r.Passed);
            rates[parallelism] = programs.Count / watch.Elapsed.TotalSeconds;
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"parallelism {parallelism}: {rates[parallelism]:0.0} items/s ({watch.Elapsed.TotalSeconds:0.00} s, {passed}/{programs.Count} pass)")).ConfigureAwait(false);
        }

        using var single = new PythonSandbox(new SandboxOptions { MaxParallelism = 1 });
        var python = (await single.GetIsolationAsync().ConfigureAwait(false)).PythonPath;
        var sandboxed = new List<double>();
        var bare = new List<double>();
        for (var i = 0; i < overheadSamples; i++)
        {
            var watch = Stopwatch.StartNew();
            await single.RunAsync("pass\n", cancellationToken).ConfigureAwait(false);
            sandboxed.Add(watch.Elapsed.TotalMilliseconds);

            watch.Restart();
            using var process = Process.Start(new ProcessStartInfo(python, ["-c", "pass"]) { UseShellExecute = false })!;
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            bare.Add(watch.Elapsed.TotalMilliseconds);
        }

        var result = new SandboxBenchResult(programs.Count, rates[1], rates[2], passed, Median(sandboxed), Median(bare), isolation!);
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"per run (median of {overheadSamples}): sandboxed 'pass' {result.MedianSandboxRunMs:0.0} ms, bare '{python} -c pass' {result.MedianBarePythonMs:0.0} ms, overhead {result.OverheadMs:0.0} ms")).ConfigureAwait(false);
        await log.WriteLineAsync($"isolation: {isolation}").ConfigureAwait(false);
        return result;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
