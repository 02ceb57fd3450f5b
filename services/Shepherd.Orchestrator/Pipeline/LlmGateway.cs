using Microsoft.Extensions.Options;
using Shepherd.Llm;
using CoreChatMessage = Shepherd.Core.Tasks.ChatMessage;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>The LLM as one Answer sees it: <see cref="PaidLlm"/> booked to the answer, within its remaining budget.</summary>
public sealed class LlmGateway(PaidLlm llm, IOptions<LlmOptions> options)
{
    public bool IsStandIn => llm.IsStandIn;

    /// <summary>The first n tokens of the LLM's answer (max_completion_tokens = n).</summary>
    public Task<LlmResult> HintAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, int tokens, double? remainingBudgetUsd, CancellationToken cancellationToken) =>
        CompleteAsync(context, messages, tokens, remainingBudgetUsd, cancellationToken);

    /// <summary>The LLM's full answer (up to Llm:MaxAnswerTokens).</summary>
    public Task<LlmResult> AnswerAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, double? remainingBudgetUsd, CancellationToken cancellationToken) =>
        CompleteAsync(context, messages, options.Value.MaxAnswerTokens, remainingBudgetUsd, cancellationToken);

    private async Task<LlmResult> CompleteAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, int tokens, double? remainingBudgetUsd, CancellationToken cancellationToken)
    {
        var (completion, cost, list) = await llm.CompleteAsync(
            messages, tokens, new LedgerTag(context.RequestId, context.ApiKeyId, context.StrategyName), remainingBudgetUsd, allowCut: true, cancellationToken);
        return new LlmResult(completion, cost, list, llm.Model, llm.IsStandIn);
    }
}
