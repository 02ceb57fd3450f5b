using System.Diagnostics.Metrics;
using Shepherd.Core.Strategies;
using Shepherd.ServiceDefaults;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>
/// What answers cost and save, by strategy and path (meter "Shepherd.Orchestrator"): answers, degradations by cause,
/// USD paid to the LLM (input, output) and the SLM, hint tokens bought, hint-cache hits and the USD they saved, the USD
/// the LLM alone would have cost for the same answers, and per-stage latency. Tags are bounded sets (strategies,
/// paths the strategy machines can take, failure kinds): never a key, a query or an error text.
/// </summary>
public sealed class AnswerMetrics
{
    public const string MeterName = "Shepherd.Orchestrator";

    private readonly Counter<long> _answers;
    private readonly Counter<long> _degraded;
    private readonly Counter<double> _llmSpent;
    private readonly Counter<double> _slmSpent;
    private readonly Counter<long> _hintTokens;
    private readonly Counter<long> _cacheHits;
    private readonly Counter<double> _cacheSaved;
    private readonly Counter<double> _llmOnly;
    private readonly Histogram<double> _stage;
    private readonly Histogram<double> _answer;

    public AnswerMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _answers = meter.CreateCounter<long>("shepherd.orchestrator.answers", "{answer}", "Answers returned, by strategy, path taken and whether degraded");
        _degraded = meter.CreateCounter<long>("shepherd.orchestrator.answers.degraded", "{answer}", "Degraded answers, by strategy and cause (one count per cause)");
        _llmSpent = meter.CreateCounter<double>("shepherd.orchestrator.llm.spent.usd", "{USD}", "USD paid to the LLM, by direction (input, output)");
        _slmSpent = meter.CreateCounter<double>("shepherd.orchestrator.slm.spent.usd", "{USD}", "USD charged for the local SLM (Orchestrator:SlmInputPerMillion/OutputPerMillion)");
        _hintTokens = meter.CreateCounter<long>("shepherd.orchestrator.hint.tokens", "{token}", "Hint tokens bought from the LLM (cache hits excluded)");
        _cacheHits = meter.CreateCounter<long>("shepherd.orchestrator.hint_cache.hits", "{hit}", "LLM answers and hints served from the hint cache");
        _cacheSaved = meter.CreateCounter<double>("shepherd.orchestrator.hint_cache.saved.usd", "{USD}", "List price of the LLM calls the hint cache answered");
        _llmOnly = meter.CreateCounter<double>("shepherd.orchestrator.llm_only.usd", "{USD}", "What the LLM alone would have charged for the same answers (estimated from token counts where it did not answer)");
        _stage = meter.CreateHistogram("shepherd.orchestrator.stage.duration", "s", "Latency of each stage of an answer (slm.samples, policy.reactive, llm.hint, …)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = MetricBuckets.Seconds });
        _answer = meter.CreateHistogram("shepherd.orchestrator.answer.duration", "s", "Latency of a whole answer, by strategy",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = MetricBuckets.Seconds });
    }

    public void Answered(AnswerRecord answer, TimeSpan elapsed)
    {
        var strategy = new KeyValuePair<string, object?>("strategy", answer.Strategy.ToWire());
        _answers.Add(1, strategy, new("path", string.Join('>', answer.Path)), new("degraded", answer.Degraded ? "true" : "false"));
        foreach (var cause in answer.DegradationCauses)
        {
            _degraded.Add(1, strategy, new("cause", cause));
        }

        _llmSpent.Add(answer.Cost.LlmInputUsd, new KeyValuePair<string, object?>("direction", "input"));
        _llmSpent.Add(answer.Cost.LlmOutputUsd, new KeyValuePair<string, object?>("direction", "output"));
        _slmSpent.Add(answer.Cost.SlmUsd);
        if (answer.Hint is { Cached: false } hint)
        {
            _hintTokens.Add(hint.Tokens, strategy);
        }

        _cacheHits.Add(answer.CacheHits);
        _cacheSaved.Add(answer.CacheSavingsUsd);
        _llmOnly.Add(answer.LlmOnlyUsd);
        foreach (var stage in answer.Latencies)
        {
            _stage.Record(stage.Ms / 1000, new KeyValuePair<string, object?>("stage", stage.Stage));
        }

        _answer.Record(elapsed.TotalSeconds, strategy);
    }

    /// <summary>A failure kind as a metric tag.</summary>
    public static string Cause(StepFailure failure) => failure switch
    {
        StepFailure.SlmUnavailable => "slm_unavailable",
        StepFailure.SlmOverloaded => "slm_overloaded",
        StepFailure.PolicyUnavailable => "policy_unavailable",
        StepFailure.LlmUnavailable => "llm_unavailable",
        StepFailure.LlmRefused => "llm_refused",
        StepFailure.BudgetExhausted => "budget_exhausted",
        StepFailure.LlmOverloaded => "llm_overloaded",
        _ => "other",
    };
}
