using Microsoft.Extensions.Options;
using Shepherd.Llm;
using CoreChatMessage = Shepherd.Core.Tasks.ChatMessage;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>The LLM as one Answer sees it: <see cref="PaidLlm"/> plus the answer's usage, cost, path and budget.</summary>
public sealed class LlmGateway(PaidLlm llm, IOptions<LlmOptions> options)
{
    public bool IsStandIn => llm.IsStandIn;


    /// <summary>The first n tokens of the LLM's answer (max_completion_tokens = n).</summary>
    public Task<LlmCompletion> HintAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, int tokens, CancellationToken cancellationToken) =>
        CompleteAsync(context, messages, tokens, "llm.hint", cancellationToken);

    /// <summary>The LLM's full answer (up to Llm:MaxAnswerTokens).</summary>
    public Task<LlmCompletion> AnswerAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, CancellationToken cancellationToken) =>
        CompleteAsync(context, messages, options.Value.MaxAnswerTokens, "llm.answer", cancellationToken);

    private async Task<LlmCompletion> CompleteAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, int tokens, string stage, CancellationToken cancellationToken)
    {
        context.LlmStandIn |= llm.IsStandIn;
        LlmCompletion completion;
        Core.Cost.CostBreakdown cost;
        double list;
        using (context.Stage(stage))
        {
            var remaining = context.BudgetUsd is { } budget ? budget - context.Cost.TotalUsd : (double?)null;
            (completion, cost, list) = await llm.CompleteAsync(
                messages, tokens, new LedgerTag(context.RequestId, context.ApiKeyId, context.StrategyName), remaining, allowCut: true, cancellationToken);
        }

        context.AddCost(cost);
        if (completion.Cached)
        {
            context.CacheSavingsUsd += list;
        }

        context.AddUsage(llm.Model, "llm", completion.Cached ? 0 : completion.PromptTokens, completion.Cached ? 0 : completion.CompletionTokens, billed: !completion.Cached, standIn: llm.IsStandIn);
        return completion;
    }
}
