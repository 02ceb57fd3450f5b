using System.Diagnostics;
using Microsoft.Extensions.Options;
using Shepherd.Core.Errors;
using Shepherd.Core.Strategies;
using Shepherd.Llm;
using Shepherd.Orchestrator.Pipeline;

namespace Shepherd.Orchestrator.Strategies;

/// <summary>The final text and which step wrote it.</summary>
public sealed record StrategyOutcome(string Text, AnswerSource AnsweredBy);

/// <summary>
/// The live executor: runs a strategy's <see cref="StrategyMachine"/> (the decisions, shared with replay) against
/// the slm, policy and LLM gateways, turns each call into a <see cref="StepResult"/> (failures as
/// <see cref="StepFailure"/>s) and hands every result to the answer's <see cref="AnswerRecorder"/>. When the
/// machine gives up, the failure becomes the status of README's failure table (<see cref="FailureTable"/>).
/// A service that refused the request for load (RESOURCE_EXHAUSTED) is remembered for the rest of the request: no
/// later step calls it again (the stand-in LLM is the slm-service unless Llm:StandInAddress says otherwise, so an
/// slm refusal also rules the stand-in out, and vice versa), and when no fallback is left the answer fails
/// RESOURCE_EXHAUSTED with the longest retry advice a refusing service gave (else Orchestrator:OverloadRetryAfterSeconds).
/// </summary>
public sealed class LiveExecutor(SlmGateway slm, LlmGateway llm, PolicyGateway policy, IOptions<LlmOptions> llmOptions, IOptions<OrchestratorOptions> options)
{
    public async Task<StrategyOutcome> RunAsync(AnswerContext context, AnswerRecorder recorder, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var machine = new StrategyMachine(context.Strategy, new StrategySettings(o.ScorerThreshold, o.EntropyScale, context.MaxHintTokens, FailureTable.ParseMode(llmOptions.Value.OnFailure)));
        SlmResult? samples = null;
        ConsensusResult? vote = null;
        SlmText? slmAnswer = null;
        string? llmAnswer = null;
        string? hint = null;
        var streamed = false;
        var (meanEntropy, meanOutputLength) = (0.0, 0.0);
        var failure = StepFailure.None;
        var detail = "";
        var failures = new List<(StepFailure Kind, string Message)>();
        var refused = new HashSet<string>(StringComparer.Ordinal);
        TimeSpan? retryAfter = null;
        var step = machine.Start();
        while (true)
        {
            recorder.Degrade(step.Degradation, failure, detail);
            if (step.Kind == StepKind.Done)
            {
                recorder.Decisions(machine);
                var (text, wasStreamed) = step.Answer switch
                {
                    AnswerSource.Samples => (samples!.Completions[vote is { FirstIndex: >= 0 } ? vote.FirstIndex : 0].Text, false),
                    AnswerSource.Llm => (llmAnswer!, false),
                    _ => (slmAnswer!.Text, streamed),
                };
                if (!wasStreamed)
                {
                    context.TextSink?.Invoke(text);
                }

                return new StrategyOutcome(text, step.Answer);
            }

            if (step.Kind == StepKind.Fail)
            {
                recorder.Decisions(machine);
                throw Failed(step.Failure, failures, retryAfter ?? TimeSpan.FromSeconds(o.OverloadRetryAfterSeconds));
            }

            StepResult result;
            if (NotToAsk(step) is { } skipped)
            {
                // The service this step needs refused the request for load: it is not called again.
                (failure, detail) = skipped;
                failures.Add(skipped);
                step = machine.Next(StepResult.FailedWith(failure));
                continue;
            }

            var started = Stopwatch.GetTimestamp();
            var stage = StageName(step);
            using var activity = AnswerTracing.StartStage(stage);
            try
            {
                result = await RunStepAsync(step);
            }
            catch (Exception ex) when (Classify(ex) is var kind && kind != StepFailure.None)
            {
                (failure, detail) = (kind, ex.Message);
                failures.Add((kind, ex.Message));
                activity?.SetStatus(ActivityStatusCode.Error, AnswerMetrics.Cause(kind));
                result = StepResult.FailedWith(kind);
                if (FailureTable.IsOverload(kind))
                {
                    RefusedForLoad(IsSlmStep(step) ? slm.Endpoint : llm.Endpoint, ex);
                }
            }
            finally
            {
                recorder.Stage(stage, Stopwatch.GetElapsedTime(started));
            }

            step = machine.Next(result);
        }

        (StepFailure, string)? NotToAsk(in StrategyStep step)
        {
            if (step.Kind is StepKind.Predict)
            {
                return null;
            }

            return IsSlmStep(step)
                ? refused.Contains(slm.Endpoint) ? (StepFailure.SlmOverloaded, "the slm-service refused this request for load already; not asked again") : null
                : refused.Contains(llm.Endpoint) ? (StepFailure.LlmOverloaded, "the stand-in LLM is the slm-service that refused this request for load; not asked") : null;
        }

        void RefusedForLoad(string endpoint, Exception ex)
        {
            refused.Add(endpoint);
            var advised = ex switch
            {
                SlmUnavailableException s => s.RetryAfter,
                LlmUnavailableException l => l.RetryAfter,
                _ => null,
            } ?? TimeSpan.FromSeconds(o.OverloadRetryAfterSeconds);
            retryAfter = retryAfter is { } known && known > advised ? known : advised;
        }

        async Task<StepResult> RunStepAsync(StrategyStep step)
        {
            switch (step.Kind)
            {
                case StepKind.Sample:
                    samples = await slm.GenerateAsync(context, context.Messages(), context.Point.Samples, stream: false, cancellationToken);
                    await recorder.SlmAsync(samples);
                    var keys = samples.Completions.Select(c => context.Task.Extract(c.Text, context.Item).Key).ToArray();
                    vote = Consensus.Vote(keys, context.Point.Agree);
                    recorder.Samples(samples, keys, vote);
                    (meanEntropy, meanOutputLength) = (samples.Completions.Average(c => c.MeanEntropy), samples.Completions.Average(c => (double)c.GeneratedTokens));
                    return new StepResult(Consensus: vote.Reached, MeanEntropy: meanEntropy, MeanOutputLength: meanOutputLength);
                case StepKind.Predict:
                    var prediction = await policy.PredictAsync(context, step.Mode, meanEntropy, meanOutputLength, cancellationToken);
                    recorder.Prediction(prediction);
                    return new StepResult(PHint: prediction.PHint, Alpha: prediction.Alpha, HintTokens: prediction.HintTokens, RouteToLlm: prediction.RouteToLlm);
                case StepKind.Hint:
                    recorder.LlmAsked(llm.IsStandIn);
                    var bought = await llm.HintAsync(context, context.LlmMessages(), step.HintTokens, recorder.RemainingBudgetUsd, cancellationToken);
                    await recorder.LlmAsync(bought, hint: true);
                    hint = bought.Completion.Text;
                    return StepResult.Ok;
                case StepKind.LlmAnswer:
                    recorder.LlmAsked(llm.IsStandIn);
                    var answer = await llm.AnswerAsync(context, context.LlmMessages(), recorder.RemainingBudgetUsd, cancellationToken);
                    await recorder.LlmAsync(answer, hint: false);
                    llmAnswer = answer.Completion.Text;
                    return StepResult.Ok;
                case StepKind.SlmAnswer or StepKind.SlmWithHint:
                    var stream = step.Final && context.TextSink is not null;
                    var one = await slm.GenerateAsync(context, context.Messages(step.Kind == StepKind.SlmWithHint ? hint : null), 1, stream, cancellationToken);
                    await recorder.SlmAsync(one);
                    slmAnswer = one.Completions[0];
                    streamed = stream;
                    if (!step.Final)
                    {
                        recorder.Scored(slmAnswer);
                    }

                    (meanEntropy, meanOutputLength) = (slmAnswer.MeanEntropy, slmAnswer.GeneratedTokens);
                    return new StepResult(MeanEntropy: meanEntropy, MeanOutputLength: meanOutputLength);
                default:
                    throw new InvalidOperationException($"unknown step {step.Kind}");
            }
        }
    }

    /// <summary>Errors as types: what each gateway's exceptions mean to a strategy.</summary>
    public static StepFailure Classify(Exception ex) => ex switch
    {
        SlmUnavailableException { Overloaded: true } => StepFailure.SlmOverloaded,
        SlmUnavailableException => StepFailure.SlmUnavailable,
        PolicyUnavailableException => StepFailure.PolicyUnavailable,
        LlmBudgetExhaustedException => StepFailure.BudgetExhausted,
        LlmRefusedException => StepFailure.LlmRefused,
        LlmUnavailableException { Overloaded: true } => StepFailure.LlmOverloaded,
        LlmUnavailableException => StepFailure.LlmUnavailable,
        _ => StepFailure.None,
    };

    /// <summary>README's failure table: the status an answer fails with, naming what failed.</summary>
    private static Exception Failed(StepFailure failure, List<(StepFailure Kind, string Message)> failures, TimeSpan retryAfter)
    {
        var models = failures.Where(f => f.Kind != StepFailure.PolicyUnavailable).ToArray();
        var both = models.Select(f => FailureTable.Dependency(f.Kind)).Distinct().Count() > 1;
        var dependency = both ? "slm+llm" : FailureTable.Dependency(failure);
        var message = both ? $"neither model is available: {string.Join("; ", models.Select(f => f.Message))}" : models.LastOrDefault().Message ?? failure.ToString();
        return FailureTable.StatusOf(failure) switch
        {
            FailureStatus.ResourceExhausted => new CapacityExceededException(
                $"{(failure == StepFailure.LlmOverloaded ? "the LLM" : "the slm-service")} is overloaded and refused this request ({message}); retry after {Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds))} s",
                retryAfter),
            FailureStatus.FailedPrecondition => new DependencyRefusedException(dependency, message),
            _ => new DependencyUnavailableException(dependency, message),
        };
    }

    private static bool IsSlmStep(in StrategyStep step) => step.Kind is StepKind.Sample or StepKind.SlmAnswer or StepKind.SlmWithHint;

    private static string StageName(in StrategyStep step) => step.Kind switch
    {
        StepKind.Sample => "slm.samples",
        StepKind.Predict => step.Mode == Core.Policy.PolicyMode.Reactive ? "policy.reactive" : "policy.proactive",
        StepKind.Hint => "llm.hint",
        StepKind.LlmAnswer => "llm.answer",
        StepKind.SlmWithHint => "slm.with_hint",
        _ => "slm.answer",
    };
}
