using Shepherd.Contracts.V1;
using Shepherd.Core.Strategies;
using Shepherd.Core.Tasks;

namespace Shepherd.Llm;

/// <summary>
/// The one mapping between ShepherdService's proto enums and the domain's strategies and task names, for both
/// sides of the API: the orchestrator (Grpc/AnswerMapper) and the CLI (ask, eval --mode live). It lives in this
/// library because it is the one both reference; nothing else maps these enums, by number or by name.
/// </summary>
public static class ProtoNames
{
    /// <summary>The proto strategy (unspecified: reactive), or null for a value this build does not know.</summary>
    public static StrategyKind? ToKind(Strategy strategy) => strategy switch
    {
        Strategy.Unspecified or Strategy.Reactive => StrategyKind.Reactive,
        Strategy.Slm => StrategyKind.Slm,
        Strategy.Llm => StrategyKind.Llm,
        Strategy.Route => StrategyKind.Route,
        Strategy.CascadeAbc => StrategyKind.CascadeAbc,
        Strategy.CascadeScorer => StrategyKind.CascadeScorer,
        Strategy.Proactive => StrategyKind.Proactive,
        _ => null,
    };

    /// <summary>A serving strategy's proto value; an oracle has none.</summary>
    public static Strategy ToProto(StrategyKind strategy) => strategy switch
    {
        StrategyKind.Slm => Strategy.Slm,
        StrategyKind.Llm => Strategy.Llm,
        StrategyKind.Route => Strategy.Route,
        StrategyKind.CascadeAbc => Strategy.CascadeAbc,
        StrategyKind.CascadeScorer => Strategy.CascadeScorer,
        StrategyKind.Proactive => Strategy.Proactive,
        StrategyKind.Reactive => Strategy.Reactive,
        _ => throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "An oracle is not a serving strategy."),
    };

    /// <summary>The task kind's name in the task registry, or null for a value this build does not know.</summary>
    public static string? ToTaskName(TaskKind task) => task switch
    {
        TaskKind.Unspecified or TaskKind.Generic => GenericTask.KindName,
        TaskKind.Gsm8K => Gsm8kTask.KindName,
        TaskKind.Cnk12 => Cnk12Task.KindName,
        TaskKind.Humaneval => HumanEvalTask.KindName,
        TaskKind.Mbpp => MbppTask.KindName,
        _ => null,
    };

    /// <summary>A task name's proto value; a name the API does not list is a generic task.</summary>
    public static TaskKind ToProto(string taskName) => taskName switch
    {
        Gsm8kTask.KindName => TaskKind.Gsm8K,
        Cnk12Task.KindName => TaskKind.Cnk12,
        HumanEvalTask.KindName => TaskKind.Humaneval,
        MbppTask.KindName => TaskKind.Mbpp,
        _ => TaskKind.Generic,
    };
}
