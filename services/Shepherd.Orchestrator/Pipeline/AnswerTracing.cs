using System.Diagnostics;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>
/// Spans of an answer (source "Shepherd.Orchestrator"): one per answer, one per stage under it. The gRPC and HTTP
/// calls a stage makes are children of its span, so a trace reads edge → answer → stage → slm/policy/LLM.
/// </summary>
public static class AnswerTracing
{
    public const string SourceName = "Shepherd.Orchestrator";

    public static ActivitySource Source { get; } = new(SourceName);

    public static Activity? StartAnswer(AnswerContext context)
    {
        var activity = Source.StartActivity("shepherd.answer");
        activity?.SetTag("shepherd.strategy", context.StrategyName);
        activity?.SetTag("shepherd.task", context.Item.Kind);
        return activity;
    }

    public static void Answered(Activity? activity, AnswerRecord answer)
    {
        activity?.SetTag("shepherd.path", string.Join('>', answer.Path));
        activity?.SetTag("shepherd.degraded", answer.Degraded);
        activity?.SetTag("shepherd.cost_usd", answer.Cost.TotalUsd);
    }

    public static Activity? StartStage(string stage) => Source.StartActivity($"shepherd.stage {stage}");
}
