using Shepherd.Core.Policy;
using Shepherd.Core.Strategies;

namespace Shepherd.Core.Evaluation;

internal enum AnsweredBy : byte
{
    Slm,
    Hinted,
    Llm,
}

internal readonly record struct ReplayOutcome(double Cost, double Correct, AnsweredBy By);

/// <summary>
/// The replay executor: runs a <see cref="StrategyMachine"/> against one compiled label record, each step's result
/// read from the record's precomputed outcomes (docs/labels.md, "Replay"), at zero cost and without allocating.
/// The policy's decision is the live rule with n precomputed (n = round(clip(exp(r̂) − 1, 0, N_max)) depends on
/// neither α nor η, so a grid point only compares). c_shep(q, n) counts the hint and the hinted SLM answer
/// together, so it is booked on the hinted answer.
/// </summary>
internal static class ReplayExecutor
{
    public static ReplayOutcome Run(ReplayQuery q, in ReplayPoint p, StrategyKind kind, double entropyScale)
    {
        var machine = new StrategyMachine(kind, new StrategySettings(p.Threshold, entropyScale, int.MaxValue, LlmFailureMode.Degrade));
        var mode = PolicyMode.Proactive;
        double cost = 0;
        var hint = 0;
        var step = machine.Start();
        while (true)
        {
            StepResult result;
            switch (step.Kind)
            {
                case StepKind.Sample:
                    cost += q.ConsensusCost;
                    result = new StepResult(Consensus: q.AgreeMax >= p.Agree);
                    break;
                case StepKind.Predict:
                    mode = step.Mode;
                    var (pHint, n) = mode == PolicyMode.Proactive ? (q.ProactiveP, q.ProactiveHint) : (q.ReactiveP, q.ReactiveHint);
                    if (double.IsNaN(pHint))
                    {
                        result = StepResult.FailedWith(StepFailure.PolicyUnavailable);
                        break;
                    }

                    var needed = pHint >= p.Alpha;
                    result = new StepResult(PHint: pHint, Alpha: p.Alpha, HintTokens: needed ? n : 0, RouteToLlm: needed && n > p.EtaHint);
                    break;
                case StepKind.Hint:
                    hint = step.HintTokens;
                    result = StepResult.Ok;
                    break;
                case StepKind.SlmWithHint:
                    cost += ShepherdCost(q, mode, hint);
                    result = StepResult.Ok;
                    break;
                case StepKind.LlmAnswer:
                    cost += q.LlmCost;
                    result = StepResult.Ok;
                    break;
                case StepKind.SlmAnswer:
                    cost += q.SlmRunCost;
                    result = new StepResult(MeanEntropy: q.MeanEntropy);
                    break;
                case StepKind.Done:
                    return step.Answer switch
                    {
                        AnswerSource.Samples => new(cost, q.ConsensusCorrect, AnsweredBy.Slm),
                        AnswerSource.Llm => new(cost, q.LlmCorrect, AnsweredBy.Llm),
                        _ when hint > 0 => new(cost, HintedCorrect(q, mode, hint), AnsweredBy.Hinted),
                        _ => new(cost, q.SlmCorrect, AnsweredBy.Slm),
                    };
                default:
                    throw new InvalidOperationException($"replay of '{kind.ToWire()}' failed on '{q.Id}' ({step.Failure}), which replay cannot do");
            }

            step = machine.Next(result);
        }
    }

    private static double HintedCorrect(ReplayQuery q, PolicyMode mode, int n) => mode == PolicyMode.Proactive
        ? (n == q.ProactiveHint ? q.ProactiveShepherdCorrect : q.HintedCorrect(n))
        : (n == q.ReactiveHint ? q.ReactiveShepherdCorrect : q.HintedCorrect(n));

    /// <summary>The precomputed c_shep for the policy's n (every hint replay buys), else computed.</summary>
    private static double ShepherdCost(ReplayQuery q, PolicyMode mode, int n) => mode == PolicyMode.Proactive
        ? (n == q.ProactiveHint ? q.ProactiveShepherdCost : q.ShepherdCost(n))
        : (n == q.ReactiveHint ? q.ReactiveShepherdCost : q.ShepherdCost(n));
}
