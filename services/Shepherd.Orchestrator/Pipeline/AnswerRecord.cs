using Shepherd.Core.Cost;
using Shepherd.Core.Strategies;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>The decision trace: votes, consensus, the policy's prediction and the strategy's decisions.</summary>
public sealed record AnswerTrace
{
    public IReadOnlyList<string> Votes { get; init; } = [];
    public int Agreeing { get; init; }
    public bool Consensus { get; init; }
    public double? PHint { get; init; }
    public double? RawSize { get; init; }
    public int? DecidedHintTokens { get; init; }
    public bool? RoutedToLlm { get; init; }
    public double Alpha { get; init; }
    public int EtaHint { get; init; }
    public int Samples { get; init; }
    public int Agree { get; init; }
    public string PolicyBundleId { get; init; } = "";
    public double MeanEntropy { get; init; }
    public double MeanOutputLength { get; init; }
    public int QueryLength { get; init; }
    public string FallbackReason { get; init; } = "";
    public double? ScorerConfidence { get; init; }
}

public sealed record HintRecord(int Tokens, string Text, bool Cached);

public sealed record UsageRecord(string Model, string Role, long PromptTokens, long CompletionTokens, int Calls, bool LocalStandIn);

public sealed record StageRecord(string Stage, double Ms);

/// <summary>One answer, whole: what the gRPC layer maps to its response and the log line reads.</summary>
public sealed record AnswerRecord(
    string RequestId,
    StrategyKind Strategy,
    string Answer,
    string FinalAnswer,
    IReadOnlyList<string> Path,
    IReadOnlyList<StageRecord> Latencies,
    IReadOnlyList<string> Degradations,
    AnswerTrace Trace,
    HintRecord? Hint,
    IReadOnlyList<UsageRecord> Usage,
    CostBreakdown Cost,
    double CacheSavingsUsd,
    bool LlmStandIn)
{
    public bool Degraded => Degradations.Count > 0;

    /// <summary>Why each degradation happened, as bounded codes for metrics (llm_unavailable, policy_unavailable, …).</summary>
    public IReadOnlyList<string> DegradationCauses { get; init; } = [];

    /// <summary>LLM answers served from the hint cache.</summary>
    public int CacheHits { get; init; }

    /// <summary>What the LLM alone would have charged for this answer (an estimate when it did not write the whole answer).</summary>
    public double LlmOnlyUsd { get; init; }
}
