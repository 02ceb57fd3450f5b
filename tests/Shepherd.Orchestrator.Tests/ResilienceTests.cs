using Grpc.Core;
using Shepherd.Contracts.V1;
using Shepherd.Llm.Storage;
using Shepherd.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Shepherd.Orchestrator.Tests;

/// <summary>Hint cache, ledger, retries and every documented fallback.</summary>
[Collection(StackCollection.Name)]
public sealed class ResilienceTests(StackFixture stack)
{
    private static AnswerRequest Ask(Strategy strategy, string? id = null) => new()
    {
        Query = "A farmer has 12 cows and sells 5. How many are left?",
        Task = TaskKind.Gsm8K,
        Strategy = strategy,
        RequestId = id ?? Guid.NewGuid().ToString("N"),
    };

    private static AnswerRequest HintRequest(string? id = null)
    {
        var request = Ask(Strategy.Proactive, id);
        request.Alpha = 0;
        request.EtaHint = 100_000;
        request.MaxHintTokens = 4;
        return request;
    }

    [SkippableFact]
    public async Task ACachedHintCostsNothingAndMakesNoHttpCall()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync();

        var first = await client.AnswerAsync(HintRequest());
        var calls = stack.Groq.RequestCount;
        var second = await client.AnswerAsync(HintRequest());

        Assert.False(first.Hint.Cached);
        Assert.True(first.Cost.TotalUsd > 0);
        Assert.True(second.Hint.Cached);
        Assert.Equal(first.Hint.Text, second.Hint.Text);
        Assert.Equal(0, second.Cost.TotalUsd);
        Assert.Equal(first.Cost.TotalUsd, second.Cost.CacheSavingsUsd, tolerance: 1e-12);
        Assert.Equal(calls, stack.Groq.RequestCount);
        Assert.Equal(0, second.Usage.Single(u => u.Role == "llm").Calls);
    }

    [SkippableFact]
    public async Task AShorterHintIsCutFromACachedFullAnswer()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        // The stand-in's "tokens" are words; a complete cached answer longer than n is served only by cutting, and
        // cutting needs the LLM's tokenizer, which this stand-in does not share with the SLM: so it must call.
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Storage:CutWithSlmTokenizer"] = "false" });
        await client.AnswerAsync(Ask(Strategy.Llm));
        var calls = stack.Groq.RequestCount;

        var hinted = await client.AnswerAsync(HintRequest());

        Assert.False(hinted.Hint.Cached);
        Assert.Equal(calls + 1, stack.Groq.RequestCount);
    }

    [SkippableFact]
    public async Task A429IsRetriedAfterRetryAfterAndBilledOnce()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, app, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Storage:HintCacheEnabled"] = "false" });
        var id = Guid.NewGuid().ToString("N");
        stack.Groq.Enqueue(new GroqReply(429, RetryAfter: "0.2"));
        var before = stack.Groq.RequestCount;

        var started = DateTime.UtcNow;
        var response = await client.AnswerAsync(Ask(Strategy.Llm, id));

        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(190));
        Assert.Equal(before + 2, stack.Groq.RequestCount);
        Assert.False(response.Degraded);
        var ledger = app.Services.GetRequiredService<ILedger>();
        var entries = (await ledger.EntriesAsync(id, CancellationToken.None)).Where(e => e.Role == "llm").ToArray();
        var billed = Assert.Single(entries);
        Assert.False(billed.Cached);
        Assert.Equal(response.Cost.TotalUsd, billed.Usd, tolerance: 1e-12);
    }

    [SkippableFact]
    public async Task A429AskingForMoreThanMaxRetryAfterSecondsFailsFastWithoutARetry()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Storage:HintCacheEnabled"] = "false",
            ["Llm:OnFailure"] = "fail",
            ["Llm:MaxRetryAfterSeconds"] = "1",
        });
        stack.Groq.Enqueue(new GroqReply(429, RetryAfter: "5.5"));
        var before = stack.Groq.RequestCount;

        var started = DateTime.UtcNow;
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.AnswerAsync(Ask(Strategy.Llm), deadline: DateTime.UtcNow.AddSeconds(30)));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("retry-after 5.5s, 1 attempts made", ex.Status.Detail);
        Assert.Equal(before + 1, stack.Groq.RequestCount);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), "a 429 beyond patience is not waited for");
    }

    [SkippableFact]
    public async Task AHintPaidBeforeTheAnswerFailsIsStillInTheLedger()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        // $0.1 an output token: the 4-token hint fits a $1 budget, the 64-token full answer then does not; with the
        // slm-service down nothing can answer after the hint is paid.
        var (client, app, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Storage:HintCacheEnabled"] = "false",
            ["Orchestrator:SlmAddress"] = "http://127.0.0.1:1",
            ["Llm:Pricing:llama-3.3-70b-versatile:InputPerMillion"] = "0.59",
            ["Llm:Pricing:llama-3.3-70b-versatile:OutputPerMillion"] = "100000",
        });
        var id = Guid.NewGuid().ToString("N");
        var request = HintRequest(id);
        request.BudgetUsd = 1.0;
        var before = stack.Groq.RequestCount;

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.AnswerAsync(request, deadline: DateTime.UtcNow.AddSeconds(60)));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        var hint = stack.Groq.Requests[^1];
        Assert.Equal(before + 1, stack.Groq.RequestCount);
        Assert.Equal(4, hint["max_completion_tokens"]!.GetValue<int>());
        var booked = Assert.Single(await app.Services.GetRequiredService<ILedger>().EntriesAsync(id, CancellationToken.None), e => e.Role == "llm");
        Assert.False(booked.Cached);
        Assert.Equal(4, booked.CompletionTokens);
        Assert.True(booked.Usd >= 0.4, $"the paid hint is booked at its price; got ${booked.Usd}");
    }

    [SkippableFact]
    public async Task RateLimitHeadersAreExposedAsMetrics()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, app, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Storage:HintCacheEnabled"] = "false" });

        await client.AnswerAsync(Ask(Strategy.Llm));

        var metrics = app.Services.GetRequiredService<Shepherd.Llm.LlmMetrics>();
        Assert.Equal(14400, metrics.Latest("llama-3.3-70b-versatile", "x-ratelimit-limit-requests"));
        Assert.Equal(179.56, metrics.Latest("llama-3.3-70b-versatile", "x-ratelimit-reset-requests")!.Value, tolerance: 1e-6);
        Assert.Equal(7.66, metrics.Latest("llama-3.3-70b-versatile", "x-ratelimit-reset-tokens")!.Value, tolerance: 1e-6);
    }

    [SkippableFact]
    public async Task ALlmThatKeepsFailingDegradesToTheSlmAndSaysSo()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Storage:HintCacheEnabled"] = "false" });
        stack.Groq.Enqueue(new GroqReply(500), new GroqReply(502), new GroqReply(503));
        var before = stack.Groq.RequestCount;

        var response = await client.AnswerAsync(Ask(Strategy.Llm), deadline: DateTime.UtcNow.AddSeconds(60));

        Assert.True(response.Degraded);
        Assert.Contains(response.Degradations, d => d.Contains("llm unavailable", StringComparison.Ordinal));
        Assert.Equal(["llm.answer", "slm.answer"], response.Path);
        Assert.Equal(before + 3, stack.Groq.RequestCount);
        Assert.Equal(0, response.Cost.TotalUsd);
    }

    [SkippableFact]
    public async Task CapacityErrorsFailFastToUnavailableWhenConfigured()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Storage:HintCacheEnabled"] = "false",
            ["Llm:OnFailure"] = "fail",
        });
        stack.Groq.Enqueue(new GroqReply(498));
        var before = stack.Groq.RequestCount;

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.AnswerAsync(Ask(Strategy.Llm), deadline: DateTime.UtcNow.AddSeconds(30)));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Equal(before + 1, stack.Groq.RequestCount);
    }

    [SkippableFact]
    public async Task ADeadLlmEndpointNeverHangs()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Llm:BaseUrl"] = "http://127.0.0.1:1/openai/v1",
            ["Storage:HintCacheEnabled"] = "false",
        });

        var response = await client.AnswerAsync(Ask(Strategy.Llm), deadline: DateTime.UtcNow.AddSeconds(30));

        Assert.True(response.Degraded);
        Assert.Equal("slm", response.Usage.Single().Role);
    }

    [SkippableFact]
    public async Task ADeadPolicyServiceFallsBackToTheAgreementCascade()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Orchestrator:PolicyAddress"] = "http://127.0.0.1:1",
            ["Orchestrator:SampleTemperature"] = "1.5",
        });

        var response = await client.AnswerAsync(Ask(Strategy.Proactive), deadline: DateTime.UtcNow.AddSeconds(60));

        Assert.True(response.Degraded);
        Assert.Contains("policy unavailable", response.Trace.FallbackReason);
        Assert.Equal(["policy.proactive", "slm.samples", "llm.answer"], response.Path);
    }

    [SkippableFact]
    public async Task ADeadSlmServiceFallsBackToTheLlm()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Orchestrator:SlmAddress"] = "http://127.0.0.1:1" });

        var response = await client.AnswerAsync(Ask(Strategy.Reactive), deadline: DateTime.UtcNow.AddSeconds(60));

        Assert.True(response.Degraded);
        Assert.Contains(response.Degradations, d => d.StartsWith("slm unavailable", StringComparison.Ordinal));
        Assert.Equal("14", response.FinalAnswer);
        var slmOnly = await Assert.ThrowsAsync<RpcException>(async () => await client.AnswerAsync(Ask(Strategy.Slm), deadline: DateTime.UtcNow.AddSeconds(30)));
        Assert.Equal(StatusCode.Unavailable, slmOnly.StatusCode);
    }

    [SkippableFact]
    public async Task WithoutAKeyTheStandInAnswersAndEveryResponseSaysSo()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, logs) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Llm:ApiKeyFile"] = "" });
        var before = stack.Groq.RequestCount;

        var response = await client.AnswerAsync(Ask(Strategy.Llm));

        Assert.True(response.LlmStandIn);
        Assert.True(response.Usage.Single(u => u.Role == "llm").LocalStandIn);
        Assert.Equal(before, stack.Groq.RequestCount);
        Assert.Contains(logs.Lines, l => l.Contains("stand-in", StringComparison.OrdinalIgnoreCase));
        Assert.All(logs.Lines.Where(l => l.Contains("Answered", StringComparison.Ordinal)), l => Assert.Contains("LLM stand-in True", l));
    }

    [SkippableFact]
    public async Task TheApiKeyNeverAppearsInLogsOrErrors()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, logs) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Storage:HintCacheEnabled"] = "false",
            ["Llm:OnFailure"] = "fail",
            ["Logging:LogLevel:Default"] = "Trace",
        });
        stack.Groq.Enqueue(new GroqReply(500), new GroqReply(500), new GroqReply(500));

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.AnswerAsync(Ask(Strategy.Llm)));
        await client.AnswerAsync(Ask(Strategy.Llm));

        Assert.DoesNotContain(GroqStandIn.ValidKey, ex.Status.Detail);
        Assert.NotEmpty(logs.Lines);
        Assert.DoesNotContain(logs.Lines, l => l.Contains(GroqStandIn.ValidKey, StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task TheLedgerSurvivesARestartAndUsageReportsTotals()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var database = Path.Combine(stack.WorkDirectory, "restart.db");
        var settings = new Dictionary<string, string?> { ["Storage:HintCacheEnabled"] = "false" };
        var (client, app, _) = await stack.StartOrchestratorAsync(settings, database);
        var first = await client.AnswerAsync(Ask(Strategy.Llm));
        await stack.StopAsync(app);

        var (restarted, _, _) = await stack.StartOrchestratorAsync(settings, database);
        var second = await restarted.AnswerAsync(Ask(Strategy.Llm));
        var usage = await restarted.UsageAsync(new UsageRequest { ApiKeyId = "anonymous" });

        var llm = usage.Totals.Single(t => t.Model == "llama-3.3-70b-versatile" && t.Strategy == "llm");
        Assert.Equal(2, llm.Calls);
        Assert.Equal(first.Cost.TotalUsd + second.Cost.TotalUsd, llm.Usd, tolerance: 1e-12);
        Assert.Equal(first.Cost.TotalUsd + second.Cost.TotalUsd, usage.TotalUsd, tolerance: 1e-12);
    }
}
