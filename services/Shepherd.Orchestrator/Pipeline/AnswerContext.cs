using System.Diagnostics;
using Shepherd.Contracts.V1;
using Shepherd.Core.Cost;
using Shepherd.Core.Strategies;
using Shepherd.Core.Tasks;
using CostBreakdown = Shepherd.Core.Cost.CostBreakdown;
using CoreChatMessage = Shepherd.Core.Tasks.ChatMessage;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>
/// Everything one Answer accumulates as it runs: the steps taken, usage and cost per model, stage latencies,
/// degradations and the decision trace. Strategies write to it; the gRPC layer maps it to the response.
/// </summary>
public sealed class AnswerContext(
    string requestId,
    string apiKeyId,
    Strategy strategy,
    ITaskKind task,
    TaskItem item,
    OperatingPoint point,
    int maxHintTokens,
    double? budgetUsd,
    Action<string>? textSink)
{
    private readonly Dictionary<(string Model, string Role), ModelUsage> _usage = [];
    private readonly HashSet<string> _overloaded = [];

    public string RequestId { get; } = requestId;

    public string ApiKeyId { get; } = apiKeyId;

    public Strategy Strategy { get; } = strategy;

    public string StrategyName { get; } = StrategyNames.ToWire(strategy);

    public ITaskKind Task { get; } = task;

    public TaskItem Item { get; } = item;

    public OperatingPoint Point { get; } = point;

    public int MaxHintTokens { get; } = maxHintTokens;

    public double? BudgetUsd { get; } = budgetUsd;

    /// <summary>α requested by the caller; null lets the policy bundle's calibrated α apply.</summary>
    public double? AlphaOverride { get; init; }

    /// <summary>η_hint requested by the caller; null lets the bundle's apply.</summary>
    public int? EtaOverride { get; init; }

    /// <summary>The caller's deadline (UTC); DateTime.MaxValue when the caller set none.</summary>
    public DateTime Deadline { get; init; } = DateTime.MaxValue;

    /// <summary>The longest wait a service that refused this request for load asked for; null when none refused.</summary>
    public TimeSpan? RetryAfter { get; private set; }

    /// <summary>Receives the final stage's text as it is generated (AnswerStream); null for unary calls.</summary>
    public Action<string>? TextSink { get; } = textSink;

    public List<string> Path { get; } = [];

    public List<StageLatency> Latencies { get; } = [];

    public List<string> Degradations { get; } = [];

    public DecisionTrace Trace { get; } = new() { Alpha = point.Alpha, EtaHint = point.EtaHint, Samples = point.Samples, Agree = point.Agree };

    public HintInfo? Hint { get; set; }

    public CostBreakdown Cost { get; private set; } = CostBreakdown.Zero;

    public bool LlmStandIn { get; set; }

    /// <summary>The list price of the LLM calls the hint cache served.</summary>
    public double CacheSavingsUsd { get; set; }

    public IEnumerable<ModelUsage> Usage => _usage.Values;

    /// <summary>The query's messages for either model, with the paper's Hint line when a hint is given.</summary>
    public IReadOnlyList<CoreChatMessage> Messages(string? hint = null) => Task.BuildMessages(Item, hint);

    public void Degrade(string reason)
    {
        Degradations.Add(reason);
        Trace.FallbackReason = Trace.FallbackReason.Length == 0 ? reason : $"{Trace.FallbackReason}; {reason}";
    }

    /// <summary>A downstream call's deadline: the caller's remaining deadline, capped per hop.</summary>
    public DateTime DeadlineFor(TimeSpan cap, TimeProvider time)
    {
        var capped = time.GetUtcNow().UtcDateTime + cap;
        return Deadline < capped ? Deadline : capped;
    }

    /// <summary>
    /// Records that the service at <paramref name="endpoint"/> refused this request for load. No fallback of this
    /// request calls it again (<see cref="IsOverloaded"/>): when the stand-in LLM is the slm-service, its refusal
    /// must not turn into a second request to it.
    /// </summary>
    public void MarkOverloaded(string endpoint, TimeSpan retryAfter)
    {
        _overloaded.Add(endpoint);
        RetryAfter = RetryAfter is { } known && known > retryAfter ? known : retryAfter;
    }

    public bool IsOverloaded(string endpoint) => _overloaded.Contains(endpoint);

    public void AddCost(CostBreakdown cost) => Cost = Cost.Add(cost);

    public void AddUsage(string model, string role, long promptTokens, long completionTokens, bool billed, bool standIn)
    {
        if (!_usage.TryGetValue((model, role), out var usage))
        {
            usage = _usage[(model, role)] = new ModelUsage { Model = model, Role = role, LocalStandIn = standIn };
        }

        usage.PromptTokens += promptTokens;
        usage.CompletionTokens += completionTokens;
        usage.Calls += billed ? 1 : 0;
    }

    /// <summary>Times a stage and records it in the path; dispose to stop the clock.</summary>
    public StageTimer Stage(string name)
    {
        Path.Add(name);
        return new StageTimer(this, name);
    }

    public readonly struct StageTimer(AnswerContext context, string name) : IDisposable
    {
        private readonly long _start = Stopwatch.GetTimestamp();

        public void Dispose() =>
            context.Latencies.Add(new StageLatency { Stage = name, Ms = Stopwatch.GetElapsedTime(_start).TotalMilliseconds });
    }
}

public static class StrategyNames
{
    public static string ToWire(Strategy strategy) => strategy switch
    {
        Strategy.Slm => "slm",
        Strategy.Llm => "llm",
        Strategy.Route => "route",
        Strategy.CascadeAbc => "cascade-abc",
        Strategy.CascadeScorer => "cascade-scorer",
        Strategy.Proactive => "proactive",
        Strategy.Reactive => "reactive",
        _ => "unspecified",
    };
}
