using Grpc.Net.Client;
using Shepherd.Contracts.V1;
using Xunit.Abstractions;

namespace Shepherd.Container.Tests;

/// <summary>The images as users run them: the smoke path through the edge, and two slm replicas sharing the load.</summary>
public sealed class ContainerTests(ContainerStack stack, ITestOutputHelper output) : IClassFixture<ContainerStack>
{
    private const int Answers = 60;

    [SkippableFact]
    public async Task AnswerThroughTheEdgeIsRecordedInThePostgresLedger()
    {
        Skip.If(stack.SkipReason is not null, stack.SkipReason);

        var answer = await stack.Edge.AnswerAsync(
            new AnswerRequest { Query = "What is 17 * 3?", Task = TaskKind.Gsm8K, Strategy = Strategy.Slm },
            stack.Auth, DateTime.UtcNow.AddSeconds(60));
        var info = await stack.EdgeSlm.InfoAsync(new SlmServiceInfoRequest(), stack.Auth, DateTime.UtcNow.AddSeconds(30));
        var usage = await stack.Edge.UsageAsync(new UsageRequest(), stack.Auth, DateTime.UtcNow.AddSeconds(30));

        var warm = await stack.Edge.AnswerAsync(
            new AnswerRequest { Query = "What is 18 * 3?", Task = TaskKind.Gsm8K, Strategy = Strategy.Slm },
            stack.Auth, DateTime.UtcNow.AddSeconds(60));
        output.WriteLine($"first answer: {string.Join(", ", answer.Latencies.Select(l => l.ToString()))}; second: {string.Join(", ", warm.Latencies.Select(l => l.ToString()))}; tokens {warm.Usage}");
        Assert.False(string.IsNullOrEmpty(answer.Answer));
        Assert.True(info.ContextSize > 0, "the slm's Info through the admin route");
        Assert.Contains(usage.Totals, t => t.ApiKeyId == ContainerStack.ApiKeyId);
    }

    [SkippableFact]
    public async Task TwoSlmReplicasBehindOneNameEachServeAtLeastAQuarter()
    {
        Skip.If(stack.SkipReason is not null, stack.SkipReason);
        var before = await AcceptedPerReplicaAsync();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < Answers; i++)
        {
            await AnswerAsync(i);
        }

        output.WriteLine($"{Answers} answers through the edge in {clock.Elapsed.TotalSeconds:F1} s");

        var after = await AcceptedPerReplicaAsync();
        var served = after.Zip(before, (a, b) => a - b).ToArray();
        var total = served.Sum();
        output.WriteLine($"slm replicas served {string.Join(" / ", served)} of {total} generations ({string.Join(" / ", served.Select(s => (100.0 * s / total).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " %"))})");
        Assert.True(total >= Answers, $"only {total} generations reached the replicas for {Answers} answers");
        Assert.All(served, s => Assert.True(s >= total / 4.0, $"a replica served {s} of {total}: {string.Join(", ", served)}"));
    }

    [SkippableFact]
    public async Task AReplicaJoiningTheNameTakesTrafficAndOneLeavingIsNeverMissed()
    {
        Skip.If(stack.SkipReason is not null, stack.SkipReason);
        var extra = await stack.StartExtraSlmAsync();
        try
        {
            // Joining: the orchestrator re-resolves "slm" every DnsRefreshSeconds; bounded to 40 answers and 30 s.
            var joined = System.Diagnostics.Stopwatch.StartNew();
            var taken = false;
            for (var i = 0; i < 40 && joined.Elapsed < TimeSpan.FromSeconds(30) && !taken; i++)
            {
                await AnswerAsync(i);
                taken = await AcceptedAsync(extra) > 0;
            }

            output.WriteLine($"the third replica took traffic after {joined.Elapsed.TotalSeconds:F1} s (re-resolution period {ContainerStack.DnsRefreshSeconds} s)");
            Assert.True(taken, "a third replica behind the name took no traffic within 30 s");
        }
        finally
        {
            // Leaving: the container is stopped and removed (a stopped auto-removed container cannot be inspected).
            await extra.DisposeAsync();
        }

        // Every later answer succeeds: a failed connection makes the balancer re-resolve at once.
        for (var i = 0; i < 20; i++)
        {
            await AnswerAsync(100 + i);
        }
    }

    private Task<AnswerResponse> AnswerAsync(int i) => stack.Edge.AnswerAsync(
        new AnswerRequest { Query = $"What is {i} + 2?", Task = TaskKind.Generic, Strategy = Strategy.Slm },
        stack.Auth, DateTime.UtcNow.AddSeconds(30)).ResponseAsync;

    private static async Task<long> AcceptedAsync(DotNet.Testcontainers.Containers.IContainer replica)
    {
        using var channel = GrpcChannel.ForAddress(ContainerStack.LoopbackAddress(replica));
        var info = await new SlmService.SlmServiceClient(channel).InfoAsync(new SlmServiceInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
        return info.AcceptedRequests;
    }

    private async Task<long[]> AcceptedPerReplicaAsync()
    {
        var counts = new long[stack.Slms.Count];
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = await AcceptedAsync(stack.Slms[i]);
        }

        return counts;
    }
}
