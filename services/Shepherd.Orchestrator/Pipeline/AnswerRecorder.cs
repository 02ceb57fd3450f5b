using Shepherd.Core.Cost;
using Shepherd.Core.Strategies;
using Shepherd.Llm;
using Shepherd.Llm.Storage;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>
/// The one place an answer's step results become its path, stage latencies, degradations, decision trace, usage,
/// cost and ledger rows. Each model call's row is committed as soon as its result arrives, before the next step, so
/// a paid call stays in the ledger when the answer later fails. Owned by one answer and written only by its executor.
/// </summary>
public sealed class AnswerRecorder(AnswerContext context, ILedger ledger, ModelPrice slmPrice, ModelPrice llmPrice, TimeProvider time)
{
    private readonly List<string> _path = [];
    private readonly List<StageRecord> _latencies = [];
    private readonly List<string> _degradations = [];
    private readonly Dictionary<(string Model, string Role), UsageRecord> _usage = [];
    private AnswerTrace _trace = new() { Alpha = context.Point.Alpha, EtaHint = context.Point.EtaHint, Samples = context.Point.Samples, Agree = context.Point.Agree };
    private HintRecord? _hint;
    private readonly List<string> _causes = [];
    private double _cacheSavings;
    private int _cacheHits;
    private bool _standIn;

    // What the same answer would have cost from the LLM alone: its prompt as the LLM counted it (else as the SLM
    // did), and its full answer's length (else the length of the SLM's answer).
    private long _llmPromptTokens;
    private long _llmAnswerTokens = -1;
    private long _slmPromptTokens;
    private double _slmAnswerTokens;

    public CostBreakdown Cost { get; private set; } = CostBreakdown.Zero;

    /// <summary>Who this answer's ledger rows are booked to.</summary>
    private LedgerTag Tag { get; } = new(context.RequestId, context.ApiKeyId, context.StrategyName);

    /// <summary>What the caller's budget still allows, or null without a budget.</summary>
    public double? RemainingBudgetUsd => context.BudgetUsd is { } budget ? budget - Cost.TotalUsd : null;

    /// <summary>A stage ran (or failed) for this long; the path lists it.</summary>
    public void Stage(string name, TimeSpan elapsed)
    {
        _path.Add(name);
        _latencies.Add(new StageRecord(name, elapsed.TotalMilliseconds));
    }

    public async Task SlmAsync(SlmResult result)
    {
        var generated = result.GeneratedTokens;
        _slmPromptTokens = _slmPromptTokens == 0 ? result.PromptTokens : _slmPromptTokens;
        _slmAnswerTokens = result.Completions.Count == 0 ? 0 : result.Completions.Average(c => (double)c.GeneratedTokens);
        var cost = CostBreakdown.ForSlm(slmPrice, result.PromptTokens, generated);
        AddUsage(result.Model, "slm", result.PromptTokens, generated, billed: true, standIn: false);
        Cost = Cost.Add(cost);
        await ledger.RecordAsync(
            new LedgerEntry(time.GetUtcNow(), Tag.RequestId, Tag.ApiKeyId, Tag.Strategy, "slm", result.Model, result.PromptTokens, generated, cost.TotalUsd, Cached: false, StandIn: false),
            CancellationToken.None);
    }

    public void Samples(SlmResult samples, IReadOnlyList<string?> keys, ConsensusResult vote) => _trace = _trace with
    {
        Votes = keys.Select(k => k ?? "").ToArray(),
        Agreeing = vote.Votes,
        Consensus = vote.Reached,
        MeanEntropy = samples.Completions.Average(c => c.MeanEntropy),
        MeanOutputLength = samples.Completions.Average(c => (double)c.GeneratedTokens),
    };

    /// <summary>The one SLM answer cascade-scorer rates.</summary>
    public void Scored(SlmText answer) => _trace = _trace with { MeanEntropy = answer.MeanEntropy, MeanOutputLength = answer.GeneratedTokens };

    public void Prediction(PolicyResult p) => _trace = _trace with
    {
        PHint = p.PHint,
        RawSize = p.RawSize,
        PolicyBundleId = p.BundleId,
        Alpha = p.Alpha,
        EtaHint = p.EtaHint,
        QueryLength = p.QueryLength,
    };

    public async Task LlmAsync(LlmCharge result, bool hint)
    {
        var completion = result.Completion;
        await ledger.RecordAsync(result.ToLedgerEntry(time.GetUtcNow(), Tag), CancellationToken.None);
        _standIn |= result.StandIn;
        Cost = Cost.Add(result.Cost);
        if (completion.Cached)
        {
            _cacheSavings += result.ListUsd;
            _cacheHits++;
        }

        _llmPromptTokens = completion.PromptTokens;
        if (!hint)
        {
            _llmAnswerTokens = completion.CompletionTokens;
        }

        AddUsage(result.Model, "llm", completion.Cached ? 0 : completion.PromptTokens, completion.Cached ? 0 : completion.CompletionTokens, billed: !completion.Cached, standIn: result.StandIn);
        if (hint)
        {
            _hint = new HintRecord((int)completion.CompletionTokens, completion.Text, completion.Cached);
        }
    }

    /// <summary>The LLM was asked for (it may have failed): a stand-in says so in the response.</summary>
    public void LlmAsked(bool standIn) => _standIn |= standIn;

    /// <summary>A step taken because the previous one failed with <paramref name="failure"/> (<paramref name="detail"/> says how).</summary>
    public void Degrade(Degradation degradation, StepFailure failure, string detail)
    {
        var llm = failure switch
        {
            StepFailure.BudgetExhausted => "llm not asked",
            StepFailure.LlmRefused => "llm refused",
            StepFailure.LlmOverloaded => "llm overloaded",
            _ => "llm unavailable",
        };
        var reason = degradation switch
        {
            Degradation.SlmDownLlmAnswers => $"slm {(failure == StepFailure.SlmOverloaded ? "overloaded" : "unavailable")} ({detail}); answered by the LLM",
            Degradation.LlmDownSlmAnswers => $"{llm} ({detail}); answered by the SLM",
            Degradation.LlmDownNoHint => $"{llm} for the hint ({detail}); the SLM answered alone",
            Degradation.PolicyDownCascade => $"policy unavailable ({detail}); fell back to the agreement cascade",
            Degradation.PolicyDownNoConsensusLlm => $"policy unavailable ({detail}); no consensus, so the LLM answered (agreement cascade)",
            Degradation.PolicyDownEntropyScorer => $"policy unavailable ({detail}); scored by SLM entropy",
            _ => "",
        };
        if (reason.Length == 0)
        {
            return;
        }

        _degradations.Add(reason);
        _causes.Add(AnswerMetrics.Cause(failure));
        _trace = _trace with { FallbackReason = _trace.FallbackReason.Length == 0 ? reason : $"{_trace.FallbackReason}; {reason}" };
    }

    /// <summary>The strategy's own decisions, read off its machine when it is done.</summary>
    public void Decisions(in StrategyMachine machine) => _trace = _trace with
    {
        RoutedToLlm = machine.RoutedToLlm ?? _trace.RoutedToLlm,
        DecidedHintTokens = machine.DecidedHintTokens ?? _trace.DecidedHintTokens,
        ScorerConfidence = machine.ScorerConfidence ?? _trace.ScorerConfidence,
    };

    public AnswerRecord Build(string answer, string finalAnswer, bool llmStandIn) => new(
        context.RequestId, context.Strategy, answer, finalAnswer, _path.ToArray(), _latencies.ToArray(), _degradations.ToArray(),
        _trace, _hint, _usage.Values.ToArray(), Cost, _cacheSavings, _standIn || llmStandIn)
    {
        DegradationCauses = _causes.ToArray(),
        CacheHits = _cacheHits,
        LlmOnlyUsd = llmPrice.Input(_llmPromptTokens > 0 ? _llmPromptTokens : _slmPromptTokens)
            + llmPrice.Output(_llmAnswerTokens >= 0 ? _llmAnswerTokens : (long)Math.Round(_slmAnswerTokens)),
    };

    private void AddUsage(string model, string role, long promptTokens, long completionTokens, bool billed, bool standIn)
    {
        var usage = _usage.GetValueOrDefault((model, role)) ?? new UsageRecord(model, role, 0, 0, 0, standIn);
        _usage[(model, role)] = usage with
        {
            PromptTokens = usage.PromptTokens + promptTokens,
            CompletionTokens = usage.CompletionTokens + completionTokens,
            Calls = usage.Calls + (billed ? 1 : 0),
        };
    }
}
