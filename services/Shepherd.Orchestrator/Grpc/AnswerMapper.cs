using Shepherd.Contracts.V1;
using Shepherd.Core.Strategies;
using Shepherd.Llm;
using Shepherd.Orchestrator.Pipeline;

namespace Shepherd.Orchestrator.Grpc;

/// <summary>Proto types out of the pipeline: the answer record to the response (enums through <see cref="ProtoNames"/>).</summary>
public static class AnswerMapper
{
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
            Strategy = ProtoNames.ToProto(answer.Strategy),
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
