using Microsoft.Extensions.Options;
using Shepherd.Llm;
using CoreChatMessage = Shepherd.Core.Tasks.ChatMessage;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>
/// The LLM as one Answer sees it: <see cref="PaidLlm"/> within the answer's remaining budget and the caller's
/// deadline; the answer's recorder books what it returns. <see cref="Endpoint"/> says which service answers, so the live executor can leave a stand-in
/// that is the slm-service alone after that service refused the request for load.
/// </summary>
public sealed class LlmGateway(PaidLlm llm, IOptions<LlmOptions> options)
{
    public bool IsStandIn => llm.IsStandIn;

    public Core.Cost.ModelPrice Price => llm.Price;

    /// <summary>The service that answers, normalised as <see cref="SlmGateway.Endpoint"/> is: the stand-in's slm-service, or the endpoint.</summary>
    public string Endpoint => llm.Endpoint;

    /// <summary>The first n tokens of the LLM's answer (max_completion_tokens = n).</summary>
    public Task<LlmCharge> HintAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, int tokens, double? remainingBudgetUsd, CancellationToken cancellationToken) =>
        CompleteAsync(context, messages, tokens, remainingBudgetUsd, cancellationToken);

    /// <summary>The LLM's full answer (up to Llm:MaxAnswerTokens).</summary>
    public Task<LlmCharge> AnswerAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, double? remainingBudgetUsd, CancellationToken cancellationToken) =>
        CompleteAsync(context, messages, options.Value.MaxAnswerTokens, remainingBudgetUsd, cancellationToken);

    private Task<LlmCharge> CompleteAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, int tokens, double? remainingBudgetUsd, CancellationToken cancellationToken) =>
        llm.CompleteAsync(messages, tokens, remainingBudgetUsd, allowCut: true, cancellationToken, context.CallerDeadline, context.ApiKeyId);
}
