using Shepherd.Contracts.V1;

namespace Shepherd.Orchestrator.Tests;

/// <summary>One database, restarted with and without a key: the stand-in's hints are never served as the LLM's.</summary>
[Collection(StackCollection.Name)]
public sealed class HintCacheSourceTests(StackFixture stack)
{
    private static AnswerRequest HintRequest() => new()
    {
        Query = "A baker bakes 7 trays of 6 rolls. How many rolls?",
        Task = TaskKind.Gsm8K,
        Strategy = Strategy.Proactive,
        Alpha = 0,
        EtaHint = 100_000,
        MaxHintTokens = 4,
    };

    [SkippableFact]
    public async Task AHintTheStandInWroteIsNotServedAfterARestartWithAKey()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var database = Path.Combine(stack.WorkDirectory, $"sources-{Guid.NewGuid():N}.db");
        var (standIn, standInApp, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Llm:ApiKeyFile"] = "" }, database);
        var written = await standIn.AnswerAsync(HintRequest(), deadline: DateTime.UtcNow.AddSeconds(60));
        var again = await standIn.AnswerAsync(HintRequest(), deadline: DateTime.UtcNow.AddSeconds(60));
        await stack.StopAsync(standInApp);
        Assert.True(written.LlmStandIn);
        Assert.False(written.Hint.Cached);
        Assert.True(again.Hint.Cached);

        var (real, realApp, _) = await stack.StartOrchestratorAsync(database: database);
        var before = stack.Groq.RequestCount;
        var response = await real.AnswerAsync(HintRequest(), deadline: DateTime.UtcNow.AddSeconds(60));
        await stack.StopAsync(realApp);

        Assert.False(response.LlmStandIn);
        Assert.False(response.Hint.Cached);
        Assert.Equal(0, response.Cost.CacheSavingsUsd);
        Assert.Equal(before + 1, stack.Groq.RequestCount);
        Assert.Equal("Let us think step", response.Hint.Text);
    }
}
