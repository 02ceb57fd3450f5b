using Microsoft.Extensions.Options;
using Shepherd.Llm;
using CoreChatMessage = Shepherd.Core.Tasks.ChatMessage;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>
/// The LLM as one Answer sees it: <see cref="PaidLlm"/> plus the answer's usage, cost, path, budget and deadline.
/// A stand-in that shares the slm-service's address is not asked after that service refused the request for load.
/// </summary>
public sealed class LlmGateway(PaidLlm llm, IOptions<LlmOptions> options, IOptions<OrchestratorOptions> orchestrator)
{
    public bool IsStandIn => llm.IsStandIn;

    /// <summary>The service that answers, normalised as <see cref="SlmGateway.Endpoint"/> is: the stand-in's slm-service, or the endpoint.</summary>
    public string Endpoint { get; } = LlmSources.Normalize(
        !llm.IsStandIn ? options.Value.BaseUrl
        : string.IsNullOrWhiteSpace(options.Value.StandInAddress) ? orchestrator.Value.SlmAddress
        : options.Value.StandInAddress);


    /// <summary>The first n tokens of the LLM's answer (max_completion_tokens = n).</summary>
    public Task<LlmCompletion> HintAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, int tokens, CancellationToken cancellationToken) =>
        CompleteAsync(context, messages, tokens, "llm.hint", cancellationToken);

    /// <summary>The LLM's full answer (up to Llm:MaxAnswerTokens).</summary>
    public Task<LlmCompletion> AnswerAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, CancellationToken cancellationToken) =>
        CompleteAsync(context, messages, options.Value.MaxAnswerTokens, "llm.answer", cancellationToken);

    private async Task<LlmCompletion> CompleteAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, int tokens, string stage, CancellationToken cancellationToken)
    {
        if (context.IsOverloaded(Endpoint))
        {
            throw new LlmUnavailableException("the stand-in LLM is the slm-service that refused this request for load; not asked") { Overloaded = true };
        }

        context.LlmStandIn |= llm.IsStandIn;
        LlmCompletion completion;
        Core.Cost.CostBreakdown cost;
        double list;
        using (context.Stage(stage))
        {
            var remaining = context.BudgetUsd is { } budget ? budget - context.Cost.TotalUsd : (double?)null;
            try
            {
                (completion, cost, list) = await llm.CompleteAsync(
                    messages, tokens, new LedgerTag(context.RequestId, context.ApiKeyId, context.StrategyName), remaining, allowCut: true, cancellationToken,
                    context.Deadline == DateTime.MaxValue ? null : context.Deadline);
            }
            catch (LlmUnavailableException ex) when (ex.Overloaded)
            {
                context.MarkOverloaded(Endpoint, ex.RetryAfter ?? TimeSpan.FromSeconds(orchestrator.Value.OverloadRetryAfterSeconds));
                throw;
            }
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
