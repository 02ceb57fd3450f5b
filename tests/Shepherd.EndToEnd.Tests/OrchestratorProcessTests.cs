using Shepherd.Contracts.V1;
using static Shepherd.EndToEnd.Tests.EndToEndStack;

namespace Shepherd.EndToEnd.Tests;

/// <summary>Orchestrator processes dying under the edge: the ledger outlives them, and the edge routes around them.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class OrchestratorProcessTests(EndToEndStack stack)
{
    private const string Question = "What is 6 * 7?";

    [SkippableFact]
    public async Task LedgerSurvivesKillingEveryOrchestratorProcess()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var first = await AskLlmAsync(Ledger);

        // Both replicas write the one ledger file: kill them all, so no process holds it, then start them again
        // on the same file and ports; the edge keeps its configuration.
        await Task.WhenAll(stack.Replicas.Select(stack.KillReplicaAsync));
        await Task.WhenAll(stack.Replicas.Select(stack.StartReplicaAsync));
        var second = await AskLlmAsync(Ledger);
        var usage = await stack.Client.UsageAsync(new UsageRequest(), Ledger.Headers, deadline: DateTime.UtcNow.AddSeconds(30));

        var total = Assert.Single(usage.Totals);
        Assert.Equal(Ledger.Id, total.ApiKeyId);
        Assert.Equal("llm", total.Strategy);
        Assert.Equal("llama-3.3-70b-versatile", total.Model);
        Assert.Equal(2, total.Calls);
        Assert.Equal(first.Usage.Single().PromptTokens + second.Usage.Single().PromptTokens, total.PromptTokens);
        Assert.Equal(first.Usage.Single().CompletionTokens + second.Usage.Single().CompletionTokens, total.CompletionTokens);
        Assert.Equal(first.Cost.TotalUsd + second.Cost.TotalUsd, total.Usd, tolerance: 1e-12);
        Assert.Equal(first.Cost.TotalUsd + second.Cost.TotalUsd, usage.TotalUsd, tolerance: 1e-12);
    }

    [SkippableFact]
    public async Task BothReplicasServeAndAKilledOneIsRoutedAround()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var (a, b) = (stack.Replicas[0], stack.Replicas[1]);
        var (beforeA, beforeB) = (a.Groq.RequestCount, b.Groq.RequestCount);

        // Sequential calls leave both replicas idle, so power-of-two-choices picks either at random (16 calls all on
        // one replica: 1 in 32,768). A replica restarted by another test may still be out of rotation until the
        // edge's next active health probe (5 s), so calls go on until both have served, within a bound.
        bool BothServed() => a.Groq.RequestCount > beforeA && b.Groq.RequestCount > beforeB;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        for (var sent = 0; sent < 16 || (!BothServed() && DateTime.UtcNow < deadline); sent++)
        {
            await AskLlmAsync(Team);
            await Task.Delay(sent < 16 ? 0 : 50);
        }

        Assert.True(a.Groq.RequestCount > beforeA, "replica a served no call");
        Assert.True(b.Groq.RequestCount > beforeB, "replica b served no call");

        try
        {
            await stack.KillReplicaAsync(b);
            var (afterKillA, afterKillB) = (a.Groq.RequestCount, b.Groq.RequestCount);
            for (var i = 0; i < 6; i++)
            {
                var response = await AskLlmAsync(Team);
                Assert.Equal(["llm.answer"], response.Path);
            }

            Assert.Equal(afterKillA + 6, a.Groq.RequestCount);
            Assert.Equal(afterKillB, b.Groq.RequestCount);
        }
        finally
        {
            await stack.StartReplicaAsync(b);
        }
    }

    private Task<AnswerResponse> AskLlmAsync(TestKey key) =>
        stack.Client.AnswerAsync(
            new AnswerRequest { Query = UniqueQuery(Question), Strategy = Strategy.Llm },
            key.Headers,
            deadline: DateTime.UtcNow.AddSeconds(60)).ResponseAsync;
}
