using System.Globalization;
using Shepherd.Contracts.V1;
using Shepherd.Load;

namespace Shepherd.Benchmarks;

/// <summary>
/// Load through the edge: the real four-service stack (LoadRun), Answer at concurrency 1, 8, 32 and 128 for the
/// strategies slm and reactive, each level for a fixed time; per level throughput (OK answers per second), p50/p99
/// latency of OK answers, calls per gRPC status and the largest RSS of every process (sampled VmRSS during the level,
/// and VmHWM). Args: [seconds per level, default 12] [concurrency list, default 1,8,32,128].
/// </summary>
public static class LoadBench
{
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 12;
        var levels = args.Length > 1 ? args[1].Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray() : [1, 8, 32, 128];
        await using var run = await LoadRun.StartAsync(CancellationToken.None);
        await output.WriteLineAsync($"stack up: edge {run.Stack.EdgeAddress}; {seconds} s per level; client deadline {LoadRun.CallDeadline.TotalSeconds} s");
        var failures = 0;
        foreach (var strategy in new[] { Strategy.Slm, Strategy.Reactive })
        {
            foreach (var concurrency in levels)
            {
                var level = await run.RunLevelAsync(strategy, concurrency, TimeSpan.FromSeconds(seconds), CancellationToken.None);
                await output.WriteLineAsync(level.Describe());
                await output.WriteLineAsync(level.DescribeStages());
                foreach (var error in level.SampleErrors.Distinct().Take(3))
                {
                    await output.WriteLineAsync($"    e.g. {error}");
                }

                if (level.Statuses.Keys.Any(s => s is not (Grpc.Core.StatusCode.OK or Grpc.Core.StatusCode.ResourceExhausted)))
                {
                    failures++;
                }

                if (run.DeadServices() is { Length: > 0 } dead)
                {
                    await output.WriteLineAsync(dead);
                    return 1;
                }
            }
        }

        await output.WriteLineAsync(failures == 0
            ? "every call answered OK or RESOURCE_EXHAUSTED"
            : $"{failures} level(s) answered something other than OK or RESOURCE_EXHAUSTED");
        return failures == 0 ? 0 : 1;
    }
}
