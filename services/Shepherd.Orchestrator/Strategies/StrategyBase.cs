using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Core.Errors;
using Shepherd.Core.Policy;
using Shepherd.Core.Strategies;
using Shepherd.Llm;
using Shepherd.Orchestrator.Pipeline;

namespace Shepherd.Orchestrator.Strategies;

/// <summary>The final text and which model wrote it.</summary>
public sealed record StrategyOutcome(string Text, string AnsweredBy);

public interface IAnswerStrategy
{
    Strategy Kind { get; }

    Task<StrategyOutcome> RunAsync(AnswerContext context, CancellationToken cancellationToken);
}

/// <summary>
/// The steps every strategy is built from, with the documented fallbacks (README, "Failures"):
/// - LLM unavailable: Llm:OnFailure "degrade" answers with the SLM (flagged degraded), "fail" answers UNAVAILABLE;
/// - policy unavailable: the agreement cascade (K samples; consensus, else the LLM's answer), flagged degraded;
/// - SLM unavailable: the LLM's full answer, flagged degraded (the slm strategy answers UNAVAILABLE);
/// - a service refused for load (RESOURCE_EXHAUSTED): it is not called again for this request (the gateways see to
///   that, which rules out the stand-in LLM when it is the slm-service); when no fallback is left the answer is
///   RESOURCE_EXHAUSTED with the retry advice, not UNAVAILABLE.
/// </summary>
public abstract class StrategyBase(SlmGateway slm, LlmGateway llm, PolicyGateway policy, IOptions<LlmOptions> llmOptions) : IAnswerStrategy
{
    public abstract Strategy Kind { get; }

    protected SlmGateway Slm => slm;

    protected LlmGateway Llm => llm;

    protected PolicyGateway Policy => policy;

    public async Task<StrategyOutcome> RunAsync(AnswerContext context, CancellationToken cancellationToken)
    {
        try
        {
            return await ExecuteAsync(context, cancellationToken);
        }
        catch (SlmUnavailableException ex) when (Kind != Strategy.Slm)
        {
            context.Degrade($"slm unavailable ({ex.Message}); answered by the LLM");
            return await LlmAnswerOrFailAsync(context, ex, cancellationToken);
        }
        catch (SlmUnavailableException ex) when (ex.Overloaded)
        {
            throw Overloaded(context, "the slm-service", ex);
        }
        catch (SlmUnavailableException ex)
        {
            throw new DependencyUnavailableException("slm", ex.Message, ex);
        }
    }

    /// <summary>RESOURCE_EXHAUSTED for the client, with the retry advice in the message and the status.</summary>
    private static CapacityExceededException Overloaded(AnswerContext context, string what, Exception inner)
    {
        var wait = context.RetryAfter ?? TimeSpan.FromSeconds(1);
        return new CapacityExceededException(
            $"{what} is overloaded and refused this request; retry after {Math.Max(1, Math.Ceiling(wait.TotalSeconds))} s", wait, inner);
    }

    protected abstract Task<StrategyOutcome> ExecuteAsync(AnswerContext context, CancellationToken cancellationToken);

    /// <summary>One SLM answer, optionally conditioned on a hint (the paper's Hint line).</summary>
    protected async Task<StrategyOutcome> SlmAnswerAsync(AnswerContext context, string? hint, CancellationToken cancellationToken)
    {
        var response = await slm.GenerateAsync(context, context.Messages(hint), 1, hint is null ? "slm.answer" : "slm.with_hint", final: true, cancellationToken);
        return new StrategyOutcome(response.Completions[0].Text, "slm");
    }

    /// <summary>K samples in one batched call; records the votes and the consensus in the trace.</summary>
    protected async Task<(GenerateResponse Samples, ConsensusResult Vote)> SamplesAsync(AnswerContext context, CancellationToken cancellationToken)
    {
        var response = await slm.GenerateAsync(context, context.Messages(), context.Point.Samples, "slm.samples", final: false, cancellationToken);
        var keys = response.Completions.Select(c => context.Task.Extract(c.Text, context.Item).Key).ToArray();
        var vote = Consensus.Vote(keys, context.Point.Agree);
        context.Trace.Votes.AddRange(keys.Select(k => k ?? ""));
        context.Trace.Agreeing = vote.Votes;
        context.Trace.Consensus = vote.Reached;
        context.Trace.MeanEntropy = response.Completions.Average(c => c.MeanEntropy);
        context.Trace.MeanOutputLength = response.Completions.Average(c => (double)c.GeneratedTokens);
        return (response, vote);
    }

    /// <summary>The SLM features the reactive policy reads (the policy counts |q| itself, in its encoder's tokens).</summary>
    protected static Dictionary<string, double> ReactiveFeatures(AnswerContext context) => new()
    {
        [PolicyFeatureNames.MeanEntropy] = context.Trace.MeanEntropy,
        [PolicyFeatureNames.MeanOutputLength] = context.Trace.MeanOutputLength,
    };

    /// <summary>The LLM's full answer; on failure the SLM's (the given samples' majority, or a fresh answer).</summary>
    protected async Task<StrategyOutcome> LlmAnswerAsync(AnswerContext context, GenerateResponse? samples, ConsensusResult? vote, CancellationToken cancellationToken)
    {
        try
        {
            var answer = await llm.AnswerAsync(context, context.Messages(), cancellationToken);
            context.TextSink?.Invoke(answer.Text);
            return new StrategyOutcome(answer.Text, "llm");
        }
        catch (LlmUnavailableException ex)
        {
            FailIfConfigured(context, ex);
            context.Degrade($"llm unavailable ({ex.Message}); answered by the SLM");
            if (samples is not null)
            {
                var pick = vote is { FirstIndex: >= 0 } ? vote.FirstIndex : 0;
                var text = samples.Completions[pick].Text;
                context.TextSink?.Invoke(text);
                return new StrategyOutcome(text, "slm");
            }

            return await SlmAnswerAsync(context, null, cancellationToken);
        }
    }

    /// <summary>Applies a policy decision: SLM alone, an n-token hint then the SLM, or the LLM's full answer.</summary>
    protected async Task<StrategyOutcome> ShepherdAsync(AnswerContext context, PredictResponse decision, GenerateResponse? samples, ConsensusResult? vote, CancellationToken cancellationToken)
    {
        var n = Math.Min(decision.HintTokens, context.MaxHintTokens);
        context.Trace.DecidedHintTokens = n;
        context.Trace.RoutedToLlm = decision.RouteToLlm;
        if (decision.RouteToLlm)
        {
            return await LlmAnswerAsync(context, samples, vote, cancellationToken);
        }

        if (n == 0)
        {
            return await SlmAnswerAsync(context, null, cancellationToken);
        }

        string hint;
        try
        {
            var completion = await llm.HintAsync(context, context.Messages(), n, cancellationToken);
            hint = completion.Text;
            context.Hint = new HintInfo { Tokens = (int)completion.CompletionTokens, Text = hint, Cached = completion.Cached };
        }
        catch (LlmUnavailableException ex)
        {
            FailIfConfigured(context, ex);
            context.Degrade($"llm unavailable for the hint ({ex.Message}); the SLM answered alone");
            return await SlmAnswerAsync(context, null, cancellationToken);
        }

        return await SlmAnswerAsync(context, hint, cancellationToken);
    }

    /// <summary>
    /// The proactive policy's prediction, or null after recording the degradation when the policy is unavailable;
    /// the caller then takes the agreement cascade.
    /// </summary>
    protected async Task<PredictResponse?> PredictProactiveOrDegradeAsync(AnswerContext context, CancellationToken cancellationToken)
    {
        try
        {
            return await Policy.PredictAsync(context, Contracts.V1.PolicyMode.Proactive, new Dictionary<string, double>(), context.AlphaOverride, context.EtaOverride, cancellationToken);
        }
        catch (PolicyUnavailableException ex)
        {
            context.Degrade($"policy unavailable ({ex.Message}); fell back to the agreement cascade");
            return null;
        }
    }

    /// <summary>The agreement cascade, used by ABC and as the fallback when the policy is unavailable.</summary>
    protected async Task<StrategyOutcome> AgreementCascadeAsync(AnswerContext context, CancellationToken cancellationToken)
    {
        var (samples, vote) = await SamplesAsync(context, cancellationToken);
        if (vote.Reached)
        {
            var text = samples.Completions[vote.FirstIndex].Text;
            context.TextSink?.Invoke(text);
            return new StrategyOutcome(text, "slm");
        }

        return await LlmAnswerAsync(context, samples, vote, cancellationToken);
    }

    private async Task<StrategyOutcome> LlmAnswerOrFailAsync(AnswerContext context, Exception cause, CancellationToken cancellationToken)
    {
        try
        {
            var answer = await llm.AnswerAsync(context, context.Messages(), cancellationToken);
            context.TextSink?.Invoke(answer.Text);
            return new StrategyOutcome(answer.Text, "llm");
        }
        catch (LlmUnavailableException ex) when (ex.Overloaded || cause is SlmUnavailableException { Overloaded: true })
        {
            throw Overloaded(context, ex.Overloaded ? "the LLM" : "the slm-service", ex);
        }
        catch (LlmUnavailableException ex)
        {
            throw new DependencyUnavailableException("slm+llm", $"neither model is available: {cause.Message}; {ex.Message}", ex);
        }
    }

    private void FailIfConfigured(AnswerContext context, LlmUnavailableException ex)
    {
        if (llmOptions.Value.OnFailure == "fail")
        {
            throw ex.Overloaded ? Overloaded(context, "the LLM", ex) : new DependencyUnavailableException("llm", ex.Message, ex);
        }
    }
}
