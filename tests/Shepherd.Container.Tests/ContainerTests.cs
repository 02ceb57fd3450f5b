using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Shepherd.Contracts.V1;
using Shepherd.Core.Configuration;
using Shepherd.TestSupport;
using Xunit.Abstractions;

namespace Shepherd.Container.Tests;

/// <summary>
/// The images as users run them: the smoke path through the edge with three clients, two slm replicas sharing the
/// load (and one leaving, one joining), and two orchestrator replicas sharing the ledger and the hint cache.
/// </summary>
public sealed class ContainerTests(ContainerStack stack, ITestOutputHelper output) : IClassFixture<ContainerStack>
{
    private const int Answers = 60;
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// How soon the orchestrator's balancer follows a change behind the name "slm": one re-resolution period
    /// (<see cref="ContainerStack.DnsRefreshSeconds"/>) plus the connect of the new subchannel and the answer in flight.
    /// </summary>
    private static readonly TimeSpan ReResolutionPeriod = TimeSpan.FromSeconds(ContainerStack.DnsRefreshSeconds + 3);

    private static string Root => ShepherdPaths.RepositoryRoot!;

    [SkippableFact]
    public async Task SmokeAnswersThroughTheEdgeWithThreeClientsAndShowsSlmAndPolicyInfo()
    {
        Skip.If(stack.SkipReason is not null, stack.SkipReason);
        var node = ExternalTool.Find("node");
        var buf = ExternalTool.Find("buf");
        var nodeClient = Path.Combine(Root, "tests", "clients", "node");
        Skip.If(node is null || buf is null, "node and buf must be on PATH (.ci/run installs nodejs and @bufbuild/buf)");
        Skip.IfNot(Directory.Exists(Path.Combine(nodeClient, "node_modules", "@grpc", "grpc-js")), "tests/clients/node has no node_modules: npm ci --prefix tests/clients/node (.ci/run does)");
        var edge = stack.EdgeAddress.ToString().TrimEnd('/');

        var answer = await stack.Edge.AnswerAsync(
            new AnswerRequest { Query = "What is 17 * 3?", Task = TaskKind.Gsm8K, Strategy = Strategy.Slm },
            stack.Auth, DateTime.UtcNow.AddSeconds(60));
        var fromNode = await ExternalTool.RunAsync(
            node!, [Path.Combine(nodeClient, "answer.mjs"), edge, "What is 18 * 3?", "proactive", "gsm8k"], ToolTimeout, Root,
            new Dictionary<string, string?> { ["SHEPHERD_API_KEY"] = ContainerStack.ApiKey });
        var fromBuf = await ExternalTool.RunAsync(
            buf!,
            ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-H", $"authorization: Bearer {ContainerStack.ApiKey}",
                "-d", JsonSerializer.Serialize(new { query = "What is 19 * 3?", task = "TASK_KIND_GSM8K", strategy = "STRATEGY_SLM" }),
                $"{edge}/shepherd.v1.ShepherdService/Answer"],
            ToolTimeout);
        var slmInfo = await stack.EdgeSlm.InfoAsync(new SlmServiceInfoRequest(), stack.Auth, DateTime.UtcNow.AddSeconds(30));
        var policyInfo = await stack.EdgePolicy.InfoAsync(new PolicyServiceInfoRequest(), stack.Auth, DateTime.UtcNow.AddSeconds(30));
        var usage = await stack.Edge.UsageAsync(new UsageRequest(), stack.Auth, DateTime.UtcNow.AddSeconds(30));

        output.WriteLine($"C#: {answer.Answer.Length} chars via {string.Join(" → ", answer.Path)}; node: exit {fromNode.ExitCode}; buf curl: exit {fromBuf.ExitCode}");
        Assert.False(string.IsNullOrEmpty(answer.Answer));
        Assert.True(fromNode.ExitCode == 0, $"node exited {fromNode.ExitCode}: {fromNode.StdErr}");
        using var nodeJson = JsonDocument.Parse(fromNode.StdOut);
        Assert.Equal("STRATEGY_PROACTIVE", nodeJson.RootElement.GetProperty("strategy").GetString());
        // Proactive asks the policy-service first: the path starts with its decision, not a degradation.
        Assert.Contains("policy.proactive", nodeJson.RootElement.GetProperty("path").EnumerateArray().Select(p => p.GetString()));
        Assert.False(nodeJson.RootElement.GetProperty("degraded").GetBoolean(), fromNode.StdOut);
        Assert.True(fromBuf.ExitCode == 0, $"buf curl exited {fromBuf.ExitCode}: {fromBuf.StdErr}");
        using var bufJson = JsonDocument.Parse(fromBuf.StdOut);
        Assert.False(string.IsNullOrEmpty(bufJson.RootElement.GetProperty("answer").GetString()));
        Assert.True(slmInfo.ContextSize > 0, "the slm's Info through the admin route");
        Assert.Equal(2, policyInfo.Bundles.Count);
        Assert.Contains(usage.Totals, t => t.ApiKeyId == ContainerStack.ApiKeyId);
    }

    [SkippableFact]
    public async Task SlmReplicasShareTheLoadAndFollowTheNameAsReplicasLeaveAndJoin()
    {
        Skip.If(stack.SkipReason is not null, stack.SkipReason);
        var replicas = stack.Slms.ToList();

        // Two replicas behind one name: each serves at least a quarter of 60 answers, read from its own counter.
        var before = await AcceptedAsync(replicas);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Four callers at a time, as users would send them; the balancer's share does not depend on it.
        await Parallel.ForEachAsync(Enumerable.Range(0, Answers), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) => await AnswerAsync(i));

        var served = (await AcceptedAsync(replicas)).Zip(before, (a, b) => a - b).ToArray();
        var total = served.Sum();
        output.WriteLine($"{Answers} answers through the edge in {clock.Elapsed.TotalSeconds:F1} s; slm replicas served {string.Join(" / ", served)} of {total} generations ({string.Join(" / ", served.Select(s => (100.0 * s / total).ToString("F1", CultureInfo.InvariantCulture) + " %"))})");
        Assert.True(total >= Answers, $"only {total} generations reached the replicas for {Answers} answers");
        Assert.All(served, s => Assert.True(s >= total / 4.0, $"a replica served {s} of {total}: {string.Join(", ", served)}"));

        // One leaves (stopped and removed): every later answer succeeds, and after one period the survivor serves all.
        await stack.RemoveAsync(replicas[0]);
        var left = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; left.Elapsed < ReResolutionPeriod; i++)
        {
            await AnswerAsync(100 + i);
        }

        var survivor = await AcceptedAsync([replicas[1]]);
        for (var i = 0; i < 10; i++)
        {
            await AnswerAsync(200 + i);
        }

        var afterLeaving = (await AcceptedAsync([replicas[1]]))[0] - survivor[0];
        output.WriteLine($"after a replica left, every answer succeeded; {afterLeaving} generations for the 10 answers after one period reached the survivor");
        Assert.True(afterLeaving >= 10, $"the survivor served {afterLeaving} generations of 10 answers");

        // One joins: it takes traffic within the period.
        var joining = await stack.StartExtraSlmAsync();
        var joined = System.Diagnostics.Stopwatch.StartNew();
        var taken = false;
        for (var i = 0; joined.Elapsed < ReResolutionPeriod && !taken; i++)
        {
            await AnswerAsync(300 + i);
            taken = (await AcceptedAsync([joining]))[0] > 0;
        }

        output.WriteLine($"the joining replica took traffic {(taken ? "after " + joined.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s" : "not at all")} (re-resolution every {ContainerStack.DnsRefreshSeconds} s, bound {ReResolutionPeriod.TotalSeconds} s)");
        Assert.True(taken, $"a replica joining the name took no traffic within {ReResolutionPeriod.TotalSeconds} s");
    }

    [SkippableFact]
    public async Task TwoOrchestratorReplicasShareTheLedgerAndTheHintCache()
    {
        Skip.If(stack.SkipReason is not null, stack.SkipReason);
        // Direct calls, as the edge makes them: the caller's key id, signed with the stack's identity key.
        var key = stack.SignedIdentity("replicas-" + Guid.NewGuid().ToString("N")[..8]);
        var clients = stack.Orchestrators.Select(o => new ShepherdService.ShepherdServiceClient(GrpcChannel.ForAddress(ContainerStack.LoopbackAddress(o)))).ToArray();
        var answers = new List<AnswerResponse>();
        for (var i = 0; i < 6; i++)
        {
            answers.Add(await clients[i % 2].AnswerAsync(
                new AnswerRequest { Query = $"What is {i} * 7?", Task = TaskKind.Gsm8K, Strategy = Strategy.Slm }, key, DateTime.UtcNow.AddSeconds(60)));
        }

        // The LLM's answer bought through one replica is a hit through the other.
        var query = "Name a colour " + Guid.NewGuid().ToString("N")[..6];
        var bought = await clients[0].AnswerAsync(new AnswerRequest { Query = query, Task = TaskKind.Generic, Strategy = Strategy.Llm }, key, DateTime.UtcNow.AddSeconds(60));
        var hit = await clients[1].AnswerAsync(new AnswerRequest { Query = query, Task = TaskKind.Generic, Strategy = Strategy.Llm }, key, DateTime.UtcNow.AddSeconds(60));
        answers.Add(bought);
        answers.Add(hit);

        var usages = await Task.WhenAll(clients.Select(c => c.UsageAsync(new UsageRequest(), key, DateTime.UtcNow.AddSeconds(30)).ResponseAsync));
        var sum = answers.Sum(a => a.Cost.TotalUsd);
        var calls = answers.Sum(a => a.Usage.Sum(u => (long)u.Calls)); // billed calls: the cached LLM call is recorded at $0 and not counted
        output.WriteLine($"{answers.Count} answers through 2 orchestrators: Σ cost ${sum:F9}; Usage per replica ${usages[0].TotalUsd:F9} / ${usages[1].TotalUsd:F9}, {usages[0].Totals.Sum(t => t.Calls)} billed calls; hint bought ${bought.Cost.LlmInputUsd + bought.Cost.LlmOutputUsd:F9}, saved ${hit.Cost.CacheSavingsUsd:F9}");
        Assert.True(sum > 0, "every answer costs something here (the SLM is priced)");
        Assert.All(usages, u => Assert.Equal(sum, u.TotalUsd, tolerance: 1e-12));
        Assert.All(usages, u => Assert.Equal(calls, u.Totals.Sum(t => t.Calls)));
        Assert.True(bought.Cost.LlmInputUsd + bought.Cost.LlmOutputUsd > 0, "the first replica paid for the LLM's answer");
        Assert.Equal(0, hit.Cost.LlmInputUsd + hit.Cost.LlmOutputUsd);
        Assert.Equal(bought.Cost.LlmInputUsd + bought.Cost.LlmOutputUsd, hit.Cost.CacheSavingsUsd, tolerance: 1e-12);
        Assert.Equal(bought.Answer, hit.Answer);
    }

    private Task<AnswerResponse> AnswerAsync(int i) => stack.Edge.AnswerAsync(
        new AnswerRequest { Query = $"What is {i} + 2?", Task = TaskKind.Generic, Strategy = Strategy.Slm },
        stack.Auth, DateTime.UtcNow.AddSeconds(30)).ResponseAsync;

    private static async Task<long[]> AcceptedAsync(IReadOnlyList<DotNet.Testcontainers.Containers.IContainer> replicas)
    {
        var counts = new long[replicas.Count];
        for (var i = 0; i < counts.Length; i++)
        {
            using var channel = GrpcChannel.ForAddress(ContainerStack.LoopbackAddress(replicas[i]));
            counts[i] = (await new SlmService.SlmServiceClient(channel).InfoAsync(new SlmServiceInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(10))).AcceptedRequests;
        }

        return counts;
    }
}
