using Shepherd.Core.Strategies;
using Shepherd.Core.Tasks;
using CoreChatMessage = Shepherd.Core.Tasks.ChatMessage;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>
/// One validated Answer request: who asks, what, with which strategy and operating point. Immutable: what the
/// answer accumulates as it runs is the <see cref="AnswerRecorder"/>'s.
/// </summary>
public sealed class AnswerContext(
    string requestId,
    string apiKeyId,
    StrategyKind strategy,
    ITaskKind task,
    TaskItem item,
    OperatingPoint point,
    int maxHintTokens,
    double? budgetUsd,
    Action<string>? textSink)
{
    public string RequestId { get; } = requestId;

    public string ApiKeyId { get; } = apiKeyId;

    public StrategyKind Strategy { get; } = strategy;

    public string StrategyName { get; } = strategy.ToWire();

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

    /// <summary>The caller's deadline for a client that takes null as "none".</summary>
    public DateTime? CallerDeadline => Deadline == DateTime.MaxValue ? null : Deadline;

    /// <summary>Receives the final stage's text as it is generated (AnswerStream); null for unary calls.</summary>
    public Action<string>? TextSink { get; } = textSink;

    /// <summary>The query's messages for either model, with the paper's Hint line when a hint is given.</summary>
    public IReadOnlyList<CoreChatMessage> Messages(string? hint = null) => Task.BuildMessages(Item, hint);

    /// <summary>The prompt the LLM is billed for (<c>Llm:Prompt</c>), as labelling sends it.</summary>
    public LlmPromptStyle LlmPrompt { get; init; }

    /// <summary>The LLM's messages in <see cref="LlmPrompt"/>'s style.</summary>
    public IReadOnlyList<CoreChatMessage> LlmMessages() => Core.Tasks.LlmPrompt.Messages(Task, Item, LlmPrompt);

    /// <summary>A downstream call's deadline: the caller's remaining deadline, capped per hop.</summary>
    public DateTime DeadlineFor(TimeSpan cap, TimeProvider time)
    {
        var capped = time.GetUtcNow().UtcDateTime + cap;
        return Deadline < capped ? Deadline : capped;
    }
}
