using System.Runtime.CompilerServices;
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
/// The replay executor: runs each strategy's <see cref="StrategyMachine"/> against compiled label records
/// (docs/labels.md, "Replay"). Replay's step results are few: whether k samples agree, the policy's decision
/// (hint needed at α, n &gt; 0, n &gt; η; n = round(clip(exp(r̂) − 1, 0, N_max)) is precomputed per query), whether
/// a reactive score exists, whether the scorer accepts. So the machine runs once per strategy and combination of
/// those results, and its plan — which steps it paid for and which answer it chose — is cached; a query·point
/// then costs a few comparisons and a table read (replay sweeps millions a second). c_shep(q, n) counts the hint
/// and the hinted SLM answer together.
/// </summary>
internal sealed class ReplayExecutor(double entropyScale)
{
    private const int Keys = 1 << 9;

    // Per strategy and key: the plan's weights, null until the machine has run on that key.
    private readonly Weights?[] _weights = new Weights?[(StrategyNames.All.Count + 1) * Keys];

    [Flags]
    private enum Plan : ushort
    {
        Sampled = 1,
        SlmRun = 2,
        Hinted = 4,
        Llm = 8,
        AnswerSamples = 16,
        AnswerLlm = 32,
        ReactiveHint = 64,
        Planned = 128,
        Failed = 256,
    }

    [Flags]
    private enum Key
    {
        Consensus = 1,
        ProactiveNeeded = 2,
        ProactiveHint = 4,
        ProactiveRoute = 8,
        ReactiveNeeded = 16,
        ReactiveHint = 32,
        ReactiveRoute = 64,
        NoReactiveScore = 128,
        ScorerAccepts = 256,
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReplayOutcome Run(ReplayQuery q, in ReplayPoint p, StrategyKind kind)
    {
        var index = ((int)kind * Keys) + (int)KeyOf(q, p, kind);
        var w = _weights[index] ?? PlanFor(q, kind, index);

        // Branchless (which steps a query takes is unpredictable): 0/1 weights, exact (x·1 + 0 = x).
        // cascade-abc draws N samples (the point's, else K); reactive always K.
        var (_, abcCorrect, abcCost) = kind == StrategyKind.CascadeAbc && p.Samples > 0 ? q.AbcOf(p.Samples) : (0, q.ConsensusCorrect, q.ConsensusCost);
        var cost = (abcCost * w.Sampled) + (q.SlmRunCost * w.SlmRun) + (q.ProactiveShepherdCost * w.HintedProactive)
            + (q.ReactiveShepherdCost * w.HintedReactive) + (q.LlmCost * w.Llm);
        var correct = (abcCorrect * w.BySamples) + (q.LlmCorrect * w.ByLlm) + (q.ProactiveShepherdCorrect * w.ByHintProactive)
            + (q.ReactiveShepherdCorrect * w.ByHintReactive) + (q.SlmCorrect * w.BySlm);
        return new ReplayOutcome(cost, correct, w.By);
    }

    /// <summary>The results replay would give this query at this point, as bits (only those the strategy can ask for).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Key KeyOf(ReplayQuery q, in ReplayPoint p, StrategyKind kind)
    {
        // The policy decision rule: P ≥ α needs a hint of n; n > η routes to the LLM. Only what the strategy can
        // ask for is read (a sweep runs one strategy, so the switch is predicted).
        switch (kind)
        {
            case StrategyKind.Route or StrategyKind.Proactive:
                return Bit(q.ProactiveP >= p.Alpha, Key.ProactiveNeeded) | Bit(q.ProactiveHint > 0, Key.ProactiveHint) | Bit(q.ProactiveHint > p.EtaHint, Key.ProactiveRoute);
            case StrategyKind.Reactive:
                return Bit(q.AgreeMax >= p.Agree, Key.Consensus)
                    | Bit(q.ReactiveP >= p.Alpha, Key.ReactiveNeeded) | Bit(q.ReactiveHint > 0, Key.ReactiveHint) | Bit(q.ReactiveHint > p.EtaHint, Key.ReactiveRoute);
            case StrategyKind.CascadeAbc:
                return Bit((p.Samples > 0 ? q.AbcOf(p.Samples).AgreeMax : q.AgreeMax) >= p.Agree, Key.Consensus);
            case StrategyKind.CascadeScorer:
                var scored = double.IsNaN(q.ReactiveP);
                var confidence = scored ? StrategyMachine.EntropyConfidence(q.ScorerEntropy, entropyScale) : 1 - (double.IsNaN(q.ScorerP) ? q.ReactiveP : q.ScorerP);
                return Bit(scored, Key.NoReactiveScore) | Bit(StrategyMachine.Accepts(confidence, p.Threshold), Key.ScorerAccepts);
            default:
                return 0;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Key Bit(bool set, Key bit) => (Key)((set ? 1 : 0) * (int)bit);

    /// <summary>A plan as 0/1 weights of each cost and correctness a query has.</summary>
    private sealed class Weights(Plan plan)
    {
        public double Sampled { get; } = (plan & Plan.Sampled) != 0 ? 1 : 0;
        public double SlmRun { get; } = (plan & Plan.SlmRun) != 0 ? 1 : 0;
        public double Llm { get; } = (plan & Plan.Llm) != 0 ? 1 : 0;
        public double HintedProactive { get; } = ((plan & Plan.Hinted) != 0) && !((plan & Plan.ReactiveHint) != 0) ? 1 : 0;
        public double HintedReactive { get; } = ((plan & Plan.Hinted) != 0) && ((plan & Plan.ReactiveHint) != 0) ? 1 : 0;
        public double BySamples { get; } = ((plan & Plan.AnswerSamples) != 0) ? 1 : 0;
        public double ByLlm { get; } = !((plan & Plan.AnswerSamples) != 0) && ((plan & Plan.AnswerLlm) != 0) ? 1 : 0;
        public double ByHintProactive { get; } = !((plan & Plan.AnswerSamples) != 0) && !((plan & Plan.AnswerLlm) != 0) && ((plan & Plan.Hinted) != 0) && !((plan & Plan.ReactiveHint) != 0) ? 1 : 0;
        public double ByHintReactive { get; } = !((plan & Plan.AnswerSamples) != 0) && !((plan & Plan.AnswerLlm) != 0) && ((plan & Plan.Hinted) != 0) && ((plan & Plan.ReactiveHint) != 0) ? 1 : 0;
        public double BySlm { get; } = !((plan & Plan.AnswerSamples) != 0) && !((plan & Plan.AnswerLlm) != 0) && !((plan & Plan.Hinted) != 0) ? 1 : 0;
        public AnsweredBy By { get; } = ((plan & Plan.AnswerLlm) != 0) && !((plan & Plan.AnswerSamples) != 0) ? AnsweredBy.Llm : ((plan & Plan.Hinted) != 0) && !((plan & Plan.AnswerSamples) != 0) ? AnsweredBy.Hinted : AnsweredBy.Slm;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Weights PlanFor(ReplayQuery q, StrategyKind kind, int index)
    {
        var plan = Trace(kind, (Key)(index % Keys));
        if ((plan & Plan.Failed) != 0)
        {
            throw new InvalidOperationException($"replay of '{kind.ToWire()}' fails on '{q.Id}', which replay cannot do");
        }

        return _weights[index] = new Weights(plan);
    }

    /// <summary>Runs the machine once on representative results of <paramref name="key"/> and notes what it paid for and answered with.</summary>
    private static Plan Trace(StrategyKind kind, Key key)
    {
        const double Threshold = 0.5;
        var machine = new StrategyMachine(kind, new StrategySettings(Threshold, 1.0, int.MaxValue, LlmFailureMode.Degrade));
        var plan = Plan.Planned;
        var accepts = (key & Key.ScorerAccepts) != 0;
        var mode = PolicyMode.Proactive;
        for (var step = machine.Start(); ; )
        {
            StepResult result;
            switch (step.Kind)
            {
                case StepKind.Sample:
                    plan |= Plan.Sampled;
                    result = new StepResult(Consensus: (key & Key.Consensus) != 0);
                    break;
                case StepKind.Predict when kind == StrategyKind.CascadeScorer:
                    // Representative values that the scorer accepts or rejects exactly as the real ones do.
                    result = (key & Key.NoReactiveScore) != 0 ? StepResult.FailedWith(StepFailure.PolicyUnavailable) : new StepResult(PHint: accepts ? 0 : 1);
                    break;
                case StepKind.Predict:
                    mode = step.Mode;
                    var (needed, hint, route) = mode == PolicyMode.Proactive
                        ? (Key.ProactiveNeeded, Key.ProactiveHint, Key.ProactiveRoute)
                        : (Key.ReactiveNeeded, Key.ReactiveHint, Key.ReactiveRoute);
                    result = (key & needed) != 0
                        ? new StepResult(PHint: 1, Alpha: Threshold, HintTokens: (key & hint) != 0 ? 1 : 0, RouteToLlm: (key & route) != 0)
                        : new StepResult(PHint: 0, Alpha: Threshold);
                    break;
                case StepKind.Hint:
                    plan |= Plan.Hinted | (mode == PolicyMode.Reactive ? Plan.ReactiveHint : 0);
                    result = StepResult.Ok;
                    break;
                case StepKind.SlmWithHint:
                    result = StepResult.Ok;
                    break;
                case StepKind.LlmAnswer:
                    plan |= Plan.Llm;
                    result = StepResult.Ok;
                    break;
                case StepKind.SlmAnswer:
                    plan |= Plan.SlmRun;
                    result = new StepResult(MeanEntropy: accepts ? 0 : 100);
                    break;
                case StepKind.Done:
                    return plan | step.Answer switch
                    {
                        AnswerSource.Samples => Plan.AnswerSamples,
                        AnswerSource.Llm => Plan.AnswerLlm,
                        _ => 0,
                    };
                default:
                    return plan | Plan.Failed;
            }

            step = machine.Next(result);
        }
    }
}
