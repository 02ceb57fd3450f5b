using Shepherd.Contracts.V1;
using Shepherd.Core.Strategies;
using Shepherd.Orchestrator.Pipeline;

namespace Shepherd.Orchestrator.Grpc;

/// <summary>Proto types in and out of the pipeline: enums to the domain's names, the answer record to the response.</summary>
public static class AnswerMapper
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

    public static Strategy ToProto(StrategyKind strategy) => strategy switch
    {
        StrategyKind.Slm => Strategy.Slm,
        StrategyKind.Llm => Strategy.Llm,
        StrategyKind.Route => Strategy.Route,
        StrategyKind.CascadeAbc => Strategy.CascadeAbc,
        StrategyKind.CascadeScorer => Strategy.CascadeScorer,
        StrategyKind.Proactive => Strategy.Proactive,
        _ => Strategy.Reactive,
    };

    /// <summary>The task kind's name in the task registry, or null for a value this build does not know.</summary>
    public static string? ToTaskName(TaskKind task) => task switch
    {
        TaskKind.Unspecified or TaskKind.Generic => Core.Tasks.GenericTask.KindName,
        TaskKind.Gsm8K => Core.Tasks.Gsm8kTask.KindName,
        TaskKind.Cnk12 => Core.Tasks.Cnk12Task.KindName,
        TaskKind.Humaneval => Core.Tasks.HumanEvalTask.KindName,
        TaskKind.Mbpp => Core.Tasks.MbppTask.KindName,
        _ => null,
    };

    public static AnswerResponse ToResponse(AnswerRecord answer)
    {
        var t = answer.Trace;
        var trace = new DecisionTrace
        {
            Agreeing = t.Agreeing,
            Consensus = t.Consensus,
            Alpha = t.Alpha,
            EtaHint = t.EtaHint,
            Samples = t.Samples,
            Agree = t.Agree,
            PolicyBundleId = t.PolicyBundleId,
            MeanEntropy = t.MeanEntropy,
            MeanOutputLength = t.MeanOutputLength,
            QueryLength = t.QueryLength,
            FallbackReason = t.FallbackReason,
        };
        trace.Votes.AddRange(t.Votes);
        if (t.PHint is { } p)
        {
            trace.PHint = p;
        }

        if (t.RawSize is { } r)
        {
            trace.RawSize = r;
        }

        if (t.DecidedHintTokens is { } n)
        {
            trace.DecidedHintTokens = n;
        }

        if (t.RoutedToLlm is { } routed)
        {
            trace.RoutedToLlm = routed;
        }

        if (t.ScorerConfidence is { } c)
        {
            trace.ScorerConfidence = c;
        }

        var response = new AnswerResponse
        {
            RequestId = answer.RequestId,
            Answer = answer.Answer,
            FinalAnswer = answer.FinalAnswer,
            Strategy = ToProto(answer.Strategy),
            Hint = answer.Hint is { } h ? new HintInfo { Tokens = h.Tokens, Text = h.Text, Cached = h.Cached } : null,
            Cost = new CostBreakdown
            {
                LlmInputUsd = answer.Cost.LlmInputUsd,
                LlmOutputUsd = answer.Cost.LlmOutputUsd,
                SlmUsd = answer.Cost.SlmUsd,
                TotalUsd = answer.Cost.TotalUsd,
                CacheSavingsUsd = answer.CacheSavingsUsd,
            },
            Trace = trace,
            LlmStandIn = answer.LlmStandIn,
            Degraded = answer.Degraded,
        };
        response.Path.AddRange(answer.Path);
        response.Usage.AddRange(answer.Usage.Select(u => new ModelUsage
        {
            Model = u.Model,
            Role = u.Role,
            PromptTokens = u.PromptTokens,
            CompletionTokens = u.CompletionTokens,
            Calls = u.Calls,
            LocalStandIn = u.LocalStandIn,
        }));
        response.Latencies.AddRange(answer.Latencies.Select(l => new StageLatency { Stage = l.Stage, Ms = l.Ms }));
        response.Degradations.AddRange(answer.Degradations);
        return response;
    }
}
