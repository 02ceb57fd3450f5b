using Shepherd.Contracts.V1;
using Shepherd.TestSupport;
using static Shepherd.EndToEnd.Tests.EndToEndStack;

namespace Shepherd.EndToEnd.Tests;

/// <summary>
/// Answer through edge → orchestrator → slm/policy/Groq processes: the path taken and the USD, computed here by
/// hand from what the Groq stand-in received (its tokens are whitespace words). The strategy matrix itself is the
/// orchestrator's functional tests' job; these prove the deployed processes agree with it.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class AnswerThroughEdgeTests(EndToEndStack stack)
{
    private const string Question = "Tom has 3 apples and buys 4 more. He doubles them. How many apples does he have?";

    [SkippableFact]
    public async Task LlmStrategyAnswersThroughTheEdgeAndCostsExactlyItsTokens()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var query = UniqueQuery(Question);

        var response = await stack.Client.AnswerAsync(new AnswerRequest { Query = query, Task = TaskKind.Gsm8K, Strategy = Strategy.Llm }, Team.Headers);

        var sent = stack.LlmRequestContaining(query);
        var promptTokens = PromptTokens(sent);
        var completionTokens = GroqStandIn.CountTokens(stack.Replicas[0].Groq.Answer(""));
        Assert.Equal(["llm.answer"], response.Path);
        Assert.Equal("14", response.FinalAnswer);
        Assert.Equal(promptTokens * InputUsdPerToken, response.Cost.LlmInputUsd, tolerance: 1e-12);
        Assert.Equal(completionTokens * OutputUsdPerToken, response.Cost.LlmOutputUsd, tolerance: 1e-12);
        Assert.Equal(0, response.Cost.SlmUsd);
        Assert.Equal((promptTokens * InputUsdPerToken) + (completionTokens * OutputUsdPerToken), response.Cost.TotalUsd, tolerance: 1e-12);
        var llm = Assert.Single(response.Usage, u => u.Role == "llm");
        Assert.Equal("llama-3.3-70b-versatile", llm.Model);
        Assert.Equal(promptTokens, llm.PromptTokens);
        Assert.Equal(completionTokens, llm.CompletionTokens);
        Assert.False(llm.LocalStandIn);
        Assert.False(response.LlmStandIn);
        Assert.False(response.Degraded);
    }

    [SkippableFact]
    public async Task ProactiveBuysAHintOfAtMostThreeTokensAndTheSlmFinishes()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var query = UniqueQuery(Question);
        // α = 0: every P(hint) asks for a hint; η far above any n: never the LLM's full answer.
        var request = new AnswerRequest { Query = query, Task = TaskKind.Gsm8K, Strategy = Strategy.Proactive, Alpha = 0, EtaHint = 100_000, MaxHintTokens = 3 };

        var response = await stack.Client.AnswerAsync(request, Team.Headers);

        var sent = stack.LlmRequestContaining(query);
        var n = response.Trace.DecidedHintTokens;
        Assert.Equal(["policy.proactive", "llm.hint", "slm.with_hint"], response.Path);
        Assert.InRange(n, 1, 3);
        Assert.Equal(n, sent["max_completion_tokens"]!.GetValue<int>());
        Assert.Equal(n, response.Hint.Tokens);
        Assert.False(response.Hint.Cached);
        Assert.Equal(string.Join(' ', stack.Replicas[0].Groq.Answer("").Split(' ').Take(n)), response.Hint.Text);
        Assert.Equal(PromptTokens(sent) * InputUsdPerToken, response.Cost.LlmInputUsd, tolerance: 1e-12);
        Assert.Equal(n * OutputUsdPerToken, response.Cost.LlmOutputUsd, tolerance: 1e-12);
        Assert.Equal((PromptTokens(sent) * InputUsdPerToken) + (n * OutputUsdPerToken), response.Cost.TotalUsd, tolerance: 1e-12);
        Assert.Equal(0, response.Cost.SlmUsd);
        Assert.Contains(response.Usage, u => u.Role == "slm" && u.CompletionTokens > 0);
        Assert.True(response.Trace.HasPHint);
        Assert.False(response.Trace.RoutedToLlm);
        Assert.False(response.LlmStandIn);
    }
}
