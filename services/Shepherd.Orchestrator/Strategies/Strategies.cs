using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Llm;
using Shepherd.Orchestrator.Pipeline;

namespace Shepherd.Orchestrator.Strategies;

/// <summary>slm: the SLM alone.</summary>
public sealed class SlmOnlyStrategy(SlmGateway slm, LlmGateway llm, PolicyGateway policy, IOptions<LlmOptions> o) : StrategyBase(slm, llm, policy, o)
{
    public override Strategy Kind => Strategy.Slm;

    protected override Task<StrategyOutcome> ExecuteAsync(AnswerContext context, CancellationToken cancellationToken) =>
        SlmAnswerAsync(context, null, cancellationToken);
}

/// <summary>llm: the LLM alone.</summary>
public sealed class LlmOnlyStrategy(SlmGateway slm, LlmGateway llm, PolicyGateway policy, IOptions<LlmOptions> o) : StrategyBase(slm, llm, policy, o)
{
    public override Strategy Kind => Strategy.Llm;

    protected override Task<StrategyOutcome> ExecuteAsync(AnswerContext context, CancellationToken cancellationToken) =>
        LlmAnswerAsync(context, null, null, cancellationToken);
}

/// <summary>route: the proactive hint head as a RouteLLM-style router; P(hint) ≥ α sends the query to the LLM.</summary>
public sealed class RouteStrategy(SlmGateway slm, LlmGateway llm, PolicyGateway policy, IOptions<LlmOptions> o) : StrategyBase(slm, llm, policy, o)
{
    public override Strategy Kind => Strategy.Route;

    protected override async Task<StrategyOutcome> ExecuteAsync(AnswerContext context, CancellationToken cancellationToken)
    {
        if (await PredictProactiveOrDegradeAsync(context, cancellationToken) is not { } prediction)
        {
            return await AgreementCascadeAsync(context, cancellationToken);
        }

        var toLlm = prediction.PHint >= prediction.Alpha;
        context.Trace.RoutedToLlm = toLlm;
        return toLlm ? await LlmAnswerAsync(context, null, null, cancellationToken) : await SlmAnswerAsync(context, null, cancellationToken);
    }
}

/// <summary>cascade-abc: K SLM samples; k agreeing answers are returned, otherwise the LLM's full answer.</summary>
public sealed class CascadeAbcStrategy(SlmGateway slm, LlmGateway llm, PolicyGateway policy, IOptions<LlmOptions> o) : StrategyBase(slm, llm, policy, o)
{
    public override Strategy Kind => Strategy.CascadeAbc;

    protected override Task<StrategyOutcome> ExecuteAsync(AnswerContext context, CancellationToken cancellationToken) =>
        AgreementCascadeAsync(context, cancellationToken);
}

/// <summary>
/// cascade-scorer (FrugalGPT-style): one SLM answer rated by a scorer — 1 − P(hint) of the reactive policy fed the
/// answer's features, or exp(−entropy / Orchestrator:EntropyScale) when no reactive policy answers; below
/// Orchestrator:ScorerThreshold the LLM's full answer is used.
/// </summary>
public sealed class CascadeScorerStrategy(SlmGateway slm, LlmGateway llm, PolicyGateway policy, IOptions<LlmOptions> o, IOptions<OrchestratorOptions> options)
    : StrategyBase(slm, llm, policy, o)
{
    public override Strategy Kind => Strategy.CascadeScorer;

    protected override async Task<StrategyOutcome> ExecuteAsync(AnswerContext context, CancellationToken cancellationToken)
    {
        var response = await Slm.GenerateAsync(context, context.Messages(), 1, "slm.answer", final: false, cancellationToken);
        var answer = response.Completions[0];
        context.Trace.MeanEntropy = answer.MeanEntropy;
        context.Trace.MeanOutputLength = answer.GeneratedTokens;
        double confidence;
        try
        {
            var prediction = await Policy.PredictAsync(context, PolicyMode.Reactive, ReactiveFeatures(context), context.AlphaOverride, context.EtaOverride, cancellationToken);
            confidence = 1 - prediction.PHint;
        }
        catch (PolicyUnavailableException ex)
        {
            context.Degrade($"policy unavailable ({ex.Message}); scored by SLM entropy");
            confidence = Math.Exp(-answer.MeanEntropy / options.Value.EntropyScale);
        }

        context.Trace.ScorerConfidence = confidence;
        if (confidence >= options.Value.ScorerThreshold)
        {
            context.TextSink?.Invoke(answer.Text);
            return new StrategyOutcome(answer.Text, "slm");
        }

        return await LlmAnswerAsync(context, response, null, cancellationToken);
    }
}

/// <summary>proactive: the policy decides before the SLM runs: SLM alone, an n-token hint then the SLM, or the LLM.</summary>
public sealed class ProactiveStrategy(SlmGateway slm, LlmGateway llm, PolicyGateway policy, IOptions<LlmOptions> o) : StrategyBase(slm, llm, policy, o)
{
    public override Strategy Kind => Strategy.Proactive;

    protected override async Task<StrategyOutcome> ExecuteAsync(AnswerContext context, CancellationToken cancellationToken)
    {
        if (await PredictProactiveOrDegradeAsync(context, cancellationToken) is not { } decision)
        {
            return await AgreementCascadeAsync(context, cancellationToken);
        }

        return await ShepherdAsync(context, decision, null, null, cancellationToken);
    }
}

/// <summary>
/// reactive: K SLM samples in one batched call; k agreeing answers return at once (no LLM call). Otherwise the
/// reactive policy, fed the samples' mean entropy and length, decides as proactive does.
/// </summary>
public sealed class ReactiveStrategy(SlmGateway slm, LlmGateway llm, PolicyGateway policy, IOptions<LlmOptions> o) : StrategyBase(slm, llm, policy, o)
{
    public override Strategy Kind => Strategy.Reactive;

    protected override async Task<StrategyOutcome> ExecuteAsync(AnswerContext context, CancellationToken cancellationToken)
    {
        var (samples, vote) = await SamplesAsync(context, cancellationToken);
        if (vote.Reached)
        {
            var text = samples.Completions[vote.FirstIndex].Text;
            context.TextSink?.Invoke(text);
            return new StrategyOutcome(text, "slm");
        }

        PredictResponse decision;
        try
        {
            decision = await Policy.PredictAsync(context, PolicyMode.Reactive, ReactiveFeatures(context), context.AlphaOverride, context.EtaOverride, cancellationToken);
        }
        catch (PolicyUnavailableException ex)
        {
            context.Degrade($"policy unavailable ({ex.Message}); no consensus, so the LLM answered (agreement cascade)");
            return await LlmAnswerAsync(context, samples, vote, cancellationToken);
        }

        return await ShepherdAsync(context, decision, samples, vote, cancellationToken);
    }
}
