using Shepherd.Contracts.V1;
using Shepherd.TestSupport;

namespace Shepherd.Orchestrator.Tests;

/// <summary>Every strategy end to end over real loopback servers: the path taken and the exact USD.</summary>
[Collection(StackCollection.Name)]
public sealed class StrategyTests(StackFixture stack)
{
    // Groq's list prices (paper.md): $0.59 / M input tokens, $0.79 / M output tokens.
    private const double In = 0.59e-6;
    private const double Out = 0.79e-6;
    private const string Question = "Tom has 3 apples and buys 4 more. He doubles them. How many apples does he have?";

    private static AnswerRequest Ask(Strategy strategy, TaskKind task = TaskKind.Gsm8K) =>
        new() { Query = Question, Task = task, Strategy = strategy, RequestId = Guid.NewGuid().ToString("N") };

    [SkippableFact]
    public async Task SlmOnlyAnswersLocallyForFree()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync();
        var before = stack.Groq.RequestCount;

        var response = await client.AnswerAsync(Ask(Strategy.Slm));

        Assert.Equal(["slm.answer"], response.Path);
        Assert.Equal(0, response.Cost.TotalUsd);
        Assert.Equal(before, stack.Groq.RequestCount);
        Assert.False(string.IsNullOrEmpty(response.Answer));
        Assert.False(response.LlmStandIn);
    }

    [SkippableFact]
    public async Task LlmOnlyIsBilledFromUsageAtGroqPrices()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync();

        var response = await client.AnswerAsync(Ask(Strategy.Llm));
        var sent = stack.Groq.Requests[^1];

        Assert.Equal(["llm.answer"], response.Path);
        Assert.Equal("14", response.FinalAnswer);
        var promptTokens = sent["messages"]!.AsArray().Sum(m => GroqStandIn.CountTokens(m!["content"]!.GetValue<string>()));
        var completionTokens = GroqStandIn.CountTokens(stack.Groq.Answer(""));
        Assert.Equal(promptTokens * In, response.Cost.LlmInputUsd, tolerance: 1e-12);
        Assert.Equal(completionTokens * Out, response.Cost.LlmOutputUsd, tolerance: 1e-12);
        Assert.Equal((promptTokens * In) + (completionTokens * Out), response.Cost.TotalUsd, tolerance: 1e-12);
        Assert.Equal(64, sent["max_completion_tokens"]!.GetValue<int>());
        Assert.Equal(0, sent["temperature"]!.GetValue<double>());
        Assert.False(sent.ContainsKey("n"));
        Assert.False(sent.ContainsKey("logprobs"));
        var llmUsage = response.Usage.Single(u => u.Role == "llm");
        Assert.Equal(promptTokens, llmUsage.PromptTokens);
        Assert.Equal(completionTokens, llmUsage.CompletionTokens);
    }

    [SkippableFact]
    public async Task ProactiveAsksForExactlyTheDecidedHintThenLetsTheSlmFinish()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync();
        var request = Ask(Strategy.Proactive);
        request.Alpha = 0;
        request.EtaHint = 100_000;
        request.MaxHintTokens = 5;

        var response = await client.AnswerAsync(request);
        var sent = stack.Groq.Requests[^1];

        Assert.Equal(["policy.proactive", "llm.hint", "slm.with_hint"], response.Path);
        var n = response.Trace.DecidedHintTokens;
        Assert.InRange(n, 1, 5);
        Assert.Equal(n, sent["max_completion_tokens"]!.GetValue<int>());
        Assert.Equal(n, response.Hint.Tokens);
        Assert.Equal(string.Join(' ', stack.Groq.Answer("").Split(' ').Take(n)), response.Hint.Text);
        var promptTokens = sent["messages"]!.AsArray().Sum(m => GroqStandIn.CountTokens(m!["content"]!.GetValue<string>()));
        Assert.Equal((promptTokens * In) + (n * Out), response.Cost.TotalUsd, tolerance: 1e-12);
        Assert.False(response.Trace.RoutedToLlm);
        Assert.True(response.Trace.HasPHint);
    }

    [SkippableFact]
    public async Task ProactiveBelowAlphaLeavesTheSlmAlone()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync();
        var request = Ask(Strategy.Proactive);
        request.Alpha = 1;
        var before = stack.Groq.RequestCount;

        var response = await client.AnswerAsync(request);

        Assert.True(response.Trace.PHint < 1);
        Assert.Equal(["policy.proactive", "slm.answer"], response.Path);
        Assert.Equal(0, response.Trace.DecidedHintTokens);
        Assert.Equal(0, response.Cost.TotalUsd);
        Assert.Equal(before, stack.Groq.RequestCount);
    }

    [SkippableFact]
    public async Task ProactiveAboveEtaRoutesToTheLlm()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync();
        var request = Ask(Strategy.Proactive);
        request.Alpha = 0;
        request.EtaHint = 0;

        var response = await client.AnswerAsync(request);

        Assert.True(response.Trace.RoutedToLlm);
        Assert.Equal(["policy.proactive", "llm.answer"], response.Path);
        Assert.Equal("14", response.FinalAnswer);
    }

    [SkippableTheory]
    [InlineData(0.0, true)]
    [InlineData(1.0, false)]
    public async Task RouteSendsTheQueryToTheLlmWhenPHintReachesAlpha(double alpha, bool toLlm)
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync();
        var request = Ask(Strategy.Route);
        request.Alpha = alpha;

        var response = await client.AnswerAsync(request);

        Assert.Equal(toLlm ? ["policy.proactive", "llm.answer"] : new[] { "policy.proactive", "slm.answer" }, response.Path);
        Assert.Equal(toLlm, response.Cost.TotalUsd > 0);
    }

    [SkippableFact]
    public async Task CascadeAbcWithConsensusNeverCallsTheLlm()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        // Greedy samples of a generic (exact-match) task agree by construction.
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Orchestrator:SampleTemperature"] = "0" });
        var before = stack.Groq.RequestCount;

        var response = await client.AnswerAsync(Ask(Strategy.CascadeAbc, TaskKind.Generic));

        // The paper's ABC by default: N = 2 answers, both agreeing.
        Assert.Equal(["slm.samples"], response.Path);
        Assert.True(response.Trace.Consensus);
        Assert.Equal(2, response.Trace.Agreeing);
        Assert.Equal(2, response.Trace.Votes.Count);
        Assert.Equal(before, stack.Groq.RequestCount);
    }

    [SkippableFact]
    public async Task CascadeAbcWithoutConsensusEscalatesToTheLlm()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        // A story model writes no final number for GSM8K, so nothing can agree.
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Orchestrator:SampleTemperature"] = "1.5" });

        var response = await client.AnswerAsync(Ask(Strategy.CascadeAbc));

        Assert.Equal(["slm.samples", "llm.answer"], response.Path);
        Assert.False(response.Trace.Consensus);
        Assert.Equal("14", response.FinalAnswer);
    }

    [SkippableFact]
    public async Task ReactiveWithConsensusNeverCallsTheLlmOrThePolicy()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Orchestrator:SampleTemperature"] = "0" });
        var before = stack.Groq.RequestCount;

        var response = await client.AnswerAsync(Ask(Strategy.Reactive, TaskKind.Generic));

        Assert.Equal(["slm.samples"], response.Path);
        Assert.Equal(before, stack.Groq.RequestCount);
        Assert.False(response.Trace.HasPHint);
        Assert.Equal(0, response.Cost.TotalUsd);
    }

    [SkippableFact]
    public async Task ReactiveWithoutConsensusAsksForExactlyNTokens()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Orchestrator:SampleTemperature"] = "1.5" });
        var request = Ask(Strategy.Reactive);
        request.Alpha = 0;
        request.EtaHint = 100_000;
        request.MaxHintTokens = 7;

        var response = await client.AnswerAsync(request);
        var sent = stack.Groq.Requests[^1];

        Assert.Equal(["slm.samples", "policy.reactive", "llm.hint", "slm.with_hint"], response.Path);
        Assert.False(response.Trace.Consensus);
        Assert.True(response.Trace.MeanEntropy > 0);
        Assert.Equal(response.Trace.DecidedHintTokens, sent["max_completion_tokens"]!.GetValue<int>());
        Assert.InRange(response.Trace.DecidedHintTokens, 1, 7);
    }

    [SkippableTheory]
    [InlineData("0", false)]
    [InlineData("1", true)]
    public async Task CascadeScorerEscalatesBelowTheThreshold(string threshold, bool escalates)
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Orchestrator:ScorerThreshold"] = threshold });

        var response = await client.AnswerAsync(Ask(Strategy.CascadeScorer));

        Assert.True(response.Trace.HasScorerConfidence);
        Assert.Equal(escalates ? ["slm.answer", "policy.reactive", "llm.answer"] : new[] { "slm.answer", "policy.reactive" }, response.Path);
    }

    [SkippableFact]
    public async Task StreamingSendsTheFinalTextThenTheAnswer()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync();

        using var call = client.AnswerStream(new AnswerStreamRequest { Request = Ask(Strategy.Slm) });
        var text = "";
        AnswerResponse? final = null;
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            var message = call.ResponseStream.Current;
            if (message.EventCase == AnswerStreamResponse.EventOneofCase.TextDelta)
            {
                text += message.TextDelta;
            }
            else
            {
                final = message.Final;
            }
        }

        Assert.NotNull(final);
        Assert.Equal(final.Answer, text);
    }
}
