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
/// a reactive score exists, whether the scorer accepts. So at construction the machine runs once per strategy and
/// combination of those results (a key), and each distinct plan — which steps it paid for and which answer it
/// chose — gets an id; every query's cost and correctness under every plan is precomputed, as are the inputs of
/// its key, in flat arrays. A query·point is then a few comparisons and two table reads, with no allocation and no
/// strategy switch inside the loop (replay sweeps tens of millions a second). c_shep(q, n) counts the hint and the
/// hinted SLM answer together.
/// </summary>
internal sealed class ReplayExecutor
{
    private const int Keys = 1 << 9;
    private const byte FailedPlan = byte.MaxValue;

    // Per strategy and key: the plan's id. Per plan: who answered. Per query and plan: cost and correctness.
    private readonly byte[] _planOf = new byte[(StrategyNames.All.Count + 1) * Keys];
    private readonly AnsweredBy[] _answeredBy;
    private readonly Weights[] _weights;
    private readonly int _plans;
    private readonly double[] _cost;
    private readonly double[] _correct;

    // Per query: what its key is computed from.
    private readonly string[] _ids;
    private readonly IReadOnlyList<ReplayQuery> _queries;
    private readonly double[] _proactiveP;
    private readonly int[] _proactiveHint;
    private readonly double[] _reactiveP;
    private readonly int[] _reactiveHint;
    private readonly int[] _agreeMax;
    private readonly bool[] _noReactiveScore;
    private readonly double[] _scorerConfidence;

    public ReplayExecutor(IReadOnlyList<ReplayQuery> queries, double entropyScale)
    {
        var plans = new List<Plan>();
        foreach (var kind in StrategyNames.All)
        {
            var mask = (int)MaskOf(kind);
            // Every subset of the bits this strategy reads.
            for (var key = mask; ; key = (key - 1) & mask)
            {
                var plan = Trace(kind, (Key)key);
                var id = (plan & Plan.Failed) != 0 ? FailedPlan : PlanId(plans, plan);
                _planOf[((int)kind * Keys) + key] = id;
                if (key == 0)
                {
                    break;
                }
            }
        }

        _plans = plans.Count;
        _weights = plans.Select(p => new Weights(p)).ToArray();
        _answeredBy = _weights.Select(w => w.By).ToArray();
        _queries = queries;
        var n = queries.Count;
        (_cost, _correct) = (new double[n * _plans], new double[n * _plans]);
        (_ids, _proactiveP, _proactiveHint, _reactiveP, _reactiveHint) = (new string[n], new double[n], new int[n], new double[n], new int[n]);
        (_agreeMax, _noReactiveScore, _scorerConfidence) = (new int[n], new bool[n], new double[n]);
        for (var i = 0; i < n; i++)
        {
            var q = queries[i];
            for (var plan = 0; plan < _plans; plan++)
            {
                var w = new Weights(plans[plan]);
                _cost[(i * _plans) + plan] = (q.ConsensusCost * w.Sampled) + (q.SlmRunCost * w.SlmRun) + (q.ProactiveShepherdCost * w.HintedProactive)
                    + (q.ReactiveShepherdCost * w.HintedReactive) + (q.LlmCost * w.Llm);
                _correct[(i * _plans) + plan] = (q.ConsensusCorrect * w.BySamples) + (q.LlmCorrect * w.ByLlm) + (q.ProactiveShepherdCorrect * w.ByHintProactive)
                    + (q.ReactiveShepherdCorrect * w.ByHintReactive) + (q.SlmCorrect * w.BySlm);
            }

            (_ids[i], _proactiveP[i], _proactiveHint[i], _reactiveP[i], _reactiveHint[i], _agreeMax[i]) =
                (q.Id, q.ProactiveP, q.ProactiveHint, q.ReactiveP, q.ReactiveHint, q.AgreeMax);
            _noReactiveScore[i] = double.IsNaN(q.ReactiveP);
            _scorerConfidence[i] = _noReactiveScore[i] ? StrategyMachine.EntropyConfidence(q.ScorerEntropy, entropyScale) : 1 - (double.IsNaN(q.ScorerP) ? q.ReactiveP : q.ScorerP);
        }
    }

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

    /// <summary>Sums one operating point over every query: cost, correctness and who answered.</summary>
    public ReplayResult Evaluate(in ReplayPoint p)
    {
        var kind = p.Strategy;
        var plans = _planOf.AsSpan((int)kind * Keys, Keys);
        double cost = 0, correct = 0;
        Span<int> by = stackalloc int[3];
        // One loop per strategy, so the key is computed without a switch per query.
        switch (kind)
        {
            case StrategyKind.Route or StrategyKind.Proactive:
                for (var i = 0; i < _ids.Length; i++)
                {
                    Add(i, plans[(int)ProactiveKey(i, p)], ref cost, ref correct, by);
                }

                break;
            case StrategyKind.Reactive:
                for (var i = 0; i < _ids.Length; i++)
                {
                    Add(i, plans[(int)ReactiveKey(i, p)], ref cost, ref correct, by);
                }

                break;
            case StrategyKind.CascadeAbc:
                if (p.Samples > 0)
                {
                    // The paper's ABC: the first N samples of the K the labels keep.
                    for (var i = 0; i < _ids.Length; i++)
                    {
                        AddAbc(i, p, ref cost, ref correct, by);
                    }

                    break;
                }

                for (var i = 0; i < _ids.Length; i++)
                {
                    Add(i, plans[(int)Bit(_agreeMax[i] >= p.Agree, Key.Consensus)], ref cost, ref correct, by);
                }

                break;
            default:
                for (var i = 0; i < _ids.Length; i++)
                {
                    Add(i, plans[(int)KeyOf(i, p)], ref cost, ref correct, by);
                }

                break;
        }

        return new ReplayResult(p, _ids.Length, cost, correct, by[(int)AnsweredBy.Slm], by[(int)AnsweredBy.Hinted], by[(int)AnsweredBy.Llm]);
    }

    /// <summary>One query at one point.</summary>
    public ReplayOutcome Run(int query, in ReplayPoint p)
    {
        if (p.Strategy == StrategyKind.CascadeAbc && p.Samples > 0)
        {
            var (abcPlan, abcCost, abcCorrect) = Abc(query, p);
            return new ReplayOutcome(abcCost, abcCorrect, _answeredBy[abcPlan]);
        }

        var plan = Checked(query, _planOf[((int)p.Strategy * Keys) + (int)KeyOf(query, p)]);
        return new ReplayOutcome(_cost[(query * _plans) + plan], _correct[(query * _plans) + plan], _answeredBy[plan]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Add(int query, byte plan, ref double cost, ref double correct, Span<int> by)
    {
        plan = Checked(query, plan);
        var cell = (query * _plans) + plan;
        cost += _cost[cell];
        correct += _correct[cell];
        by[(int)_answeredBy[plan]]++;
    }

    private void AddAbc(int query, in ReplayPoint p, ref double cost, ref double correct, Span<int> by)
    {
        var (plan, c, ok) = Abc(query, p);
        cost += c;
        correct += ok;
        by[(int)_answeredBy[plan]]++;
    }

    /// <summary>cascade-abc drawing the point's N samples: the plan, its cost and correctness (0/1 weights, exact).</summary>
    private (byte Plan, double Cost, double Correct) Abc(int query, in ReplayPoint p)
    {
        var q = _queries[query];
        var (agreeMax, abcCorrect, abcCost) = q.AbcOf(p.Samples);
        var plan = Checked(query, _planOf[((int)StrategyKind.CascadeAbc * Keys) + (int)Bit(agreeMax >= p.Agree, Key.Consensus)]);
        var w = _weights[plan];
        var cost = (abcCost * w.Sampled) + (q.SlmRunCost * w.SlmRun) + (q.ProactiveShepherdCost * w.HintedProactive)
            + (q.ReactiveShepherdCost * w.HintedReactive) + (q.LlmCost * w.Llm);
        var correct = (abcCorrect * w.BySamples) + (q.LlmCorrect * w.ByLlm) + (q.ProactiveShepherdCorrect * w.ByHintProactive)
            + (q.ReactiveShepherdCorrect * w.ByHintReactive) + (q.SlmCorrect * w.BySlm);
        return (plan, cost, correct);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte Checked(int query, byte plan) => plan != FailedPlan ? plan : Fail(query);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private byte Fail(int query) => throw new InvalidOperationException($"replay fails on '{_ids[query]}', which replay cannot do");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Key ProactiveKey(int i, in ReplayPoint p) =>
        Bit(_proactiveP[i] >= p.Alpha, Key.ProactiveNeeded) | Bit(_proactiveHint[i] > 0, Key.ProactiveHint) | Bit(_proactiveHint[i] > p.EtaHint, Key.ProactiveRoute);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Key ReactiveKey(int i, in ReplayPoint p) =>
        Bit(_agreeMax[i] >= p.Agree, Key.Consensus)
        | Bit(_reactiveP[i] >= p.Alpha, Key.ReactiveNeeded) | Bit(_reactiveHint[i] > 0, Key.ReactiveHint) | Bit(_reactiveHint[i] > p.EtaHint, Key.ReactiveRoute);

    /// <summary>The results replay would give this query at this point, as bits (only those the strategy can ask for).</summary>
    private Key KeyOf(int i, in ReplayPoint p) => p.Strategy switch
    {
        // The policy decision rule: P ≥ α needs a hint of n; n > η routes to the LLM.
        StrategyKind.Route or StrategyKind.Proactive => ProactiveKey(i, p),
        StrategyKind.Reactive => ReactiveKey(i, p),
        StrategyKind.CascadeAbc => Bit(_agreeMax[i] >= p.Agree, Key.Consensus),
        StrategyKind.CascadeScorer => Bit(_noReactiveScore[i], Key.NoReactiveScore) | Bit(StrategyMachine.Accepts(_scorerConfidence[i], p.Threshold), Key.ScorerAccepts),
        _ => 0,
    };

    /// <summary>The bits a strategy can read.</summary>
    private static Key MaskOf(StrategyKind kind) => kind switch
    {
        StrategyKind.Route or StrategyKind.Proactive => Key.ProactiveNeeded | Key.ProactiveHint | Key.ProactiveRoute,
        StrategyKind.Reactive => Key.Consensus | Key.ReactiveNeeded | Key.ReactiveHint | Key.ReactiveRoute,
        StrategyKind.CascadeAbc => Key.Consensus,
        StrategyKind.CascadeScorer => Key.NoReactiveScore | Key.ScorerAccepts,
        _ => 0,
    };

    private static byte PlanId(List<Plan> plans, Plan plan)
    {
        var id = plans.IndexOf(plan);
        if (id < 0)
        {
            plans.Add(plan);
            id = plans.Count - 1;
        }

        return (byte)id;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Key Bit(bool set, Key bit) => (Key)((set ? 1 : 0) * (int)bit);

    /// <summary>A plan as 0/1 weights of each cost and correctness a query has.</summary>
    private readonly struct Weights(Plan plan)
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
