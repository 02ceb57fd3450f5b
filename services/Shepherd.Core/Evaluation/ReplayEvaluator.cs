using Shepherd.Core.Policy;
using Shepherd.Core.Strategies;

namespace Shepherd.Core.Evaluation;

/// <summary>
/// Recomputes every strategy's outcome and cost from label records, at zero cost (docs/labels.md, "Replay").
/// Pure: the policy's scores come in as data. Per query and strategy:
/// <list type="bullet">
/// <item>the seven serving strategies: their <see cref="StrategyMachine"/>, the same decisions the orchestrator
/// runs live, with each step's result read from the record (<see cref="ReplayExecutor"/>): samples agree when
/// agree_max ≥ k; the policy's P(hint) and n are the bundle's scores; a hint of n scores as the ladder's rung.</item>
/// <item>oracle: n*: SLM alone at n* = 0, a hint of n* when a level passed, else the LLM's full answer;
/// oracle-route and oracle-cascade send exactly the queries the SLM fails to the LLM.</item>
/// </list>
/// </summary>
public sealed class ReplayEvaluator
{
    private readonly ReplayQuery[] _queries;
    private readonly ReplayExecutor _executor;

    /// <param name="scorer">The reactive head's scores on one sample's features (cascade-scorer scores one SLM answer, as
    /// live); null: the K-sample scores.</param>
    public ReplayEvaluator(IReadOnlyList<LabelRecord> records, ReplayOptions? options = null, PolicyScores? proactive = null, PolicyScores? reactive = null, PolicyScores? scorer = null)
    {
        Options = options ?? new ReplayOptions();
        if (records.Count == 0)
        {
            throw new ArgumentException("Replay needs at least one label record.", nameof(records));
        }

        _queries = records.Select(r => new ReplayQuery(r, Options)).ToArray();
        Proactive = proactive;
        Reactive = reactive;
        if (proactive is not null)
        {
            Attach(proactive, PolicyMode.Proactive);
        }

        if (reactive is not null)
        {
            Attach(reactive, PolicyMode.Reactive);
        }

        foreach (var q in scorer is null ? [] : _queries)
        {
            q.ScorerP = scorer!.ById.TryGetValue(q.Id, out var score) ? score.PHint : throw new ReplayDataException(q.Id, "no one-sample reactive score");
        }

        Samples = _queries.All(q => q.HasConsensus) ? _queries.Max(q => q.Samples) : 0;
        _executor = new ReplayExecutor(_queries, Options.EntropyScale);
    }

    public ReplayOptions Options { get; }

    public PolicyScores? Proactive { get; }

    public PolicyScores? Reactive { get; }

    public IReadOnlyList<ReplayQuery> Queries => _queries;

    public int Count => _queries.Length;

    /// <summary>K when every record carries consensus information, else 0 (no consensus strategy can run).</summary>
    public int Samples { get; }

    /// <summary>Whether this evaluator has what <paramref name="strategy"/> needs; else <paramref name="reason"/> says what is missing.</summary>
    public bool CanRun(StrategyKind strategy, out string reason)
    {
        reason = strategy switch
        {
            StrategyKind.Route or StrategyKind.Proactive when Proactive is null => "no proactive policy scores",
            StrategyKind.Reactive when Reactive is null => "no reactive policy scores",
            StrategyKind.CascadeScorer when Reactive is null && _queries.Any(q => double.IsNaN(q.MeanEntropy)) =>
                "no reactive policy scores and not every record has 'mean_entropy'",
            StrategyKind.CascadeAbc or StrategyKind.Reactive when Samples == 0 => "not every record has 'samples', 'agree_max' and 'consensus_passed'",
            _ => "",
        };
        return reason.Length == 0;
    }

    /// <summary>One operating point over every query.</summary>
    public ReplayResult Evaluate(ReplayPoint point)
    {
        Require(point.Strategy);
        if (!point.Strategy.IsOracle())
        {
            return _executor.Evaluate(point);
        }

        double cost = 0, correct = 0;
        int slm = 0, hinted = 0, llm = 0;
        for (var i = 0; i < _queries.Length; i++)
        {
            var outcome = Step(i, point);
            cost += outcome.Cost;
            correct += outcome.Correct;
            switch (outcome.By)
            {
                case AnsweredBy.Slm:
                    slm++;
                    break;
                case AnsweredBy.Hinted:
                    hinted++;
                    break;
                default:
                    llm++;
                    break;
            }
        }

        return new ReplayResult(point, _queries.Length, cost, correct, slm, hinted, llm);
    }

    /// <summary>Per-query cost and correctness of one operating point, in record order.</summary>
    public IReadOnlyList<(string Id, double Cost, double Correct)> EvaluateQueries(ReplayPoint point)
    {
        Require(point.Strategy);
        var results = new (string Id, double Cost, double Correct)[_queries.Length];
        for (var i = 0; i < _queries.Length; i++)
        {
            var outcome = Step(i, point);
            results[i] = (_queries[i].Id, outcome.Cost, outcome.Correct);
        }

        return results;
    }

    /// <summary>Every point of a grid for one strategy (route: α; cascade-abc: k; cascade-scorer: θ; proactive: α × η; reactive: α × η × k).</summary>
    public IReadOnlyList<ReplayResult> Sweep(StrategyKind strategy, ReplayGrid grid) =>
        // N < K samples replay only from per-sample answers; older labels sweep k of K alone.
        grid.Points(strategy, Samples).Where(p => p.Samples == 0 || _queries.All(q => q.HasSampleAnswers)).Select(Evaluate).ToArray();

    private void Require(StrategyKind strategy)
    {
        if (!CanRun(strategy, out var reason))
        {
            throw new InvalidOperationException($"replay cannot run '{strategy.ToWire()}': {reason}.");
        }
    }

    /// <summary>
    /// The serving strategies run their <see cref="StrategyMachine"/> through <see cref="ReplayExecutor"/>; the
    /// oracles are bounds, not strategies, and read n* directly.
    /// </summary>
    private ReplayOutcome Step(int query, in ReplayPoint p)
    {
        var q = _queries[query];
        switch (p.Strategy)
        {
            case StrategyKind.Oracle:
                return q.OracleHint switch
                {
                    0 => new(q.SlmRunCost, q.SlmCorrect, AnsweredBy.Slm),
                    LabelRecord.NoHintSufficed => new(q.LlmCost, q.LlmCorrect, AnsweredBy.Llm),
                    var n => new(q.ShepherdCost(n), q.HintedCorrect(n), AnsweredBy.Hinted),
                };
            case StrategyKind.OracleRoute:
                return q.SlmPassed ? new(q.SlmRunCost, q.SlmCorrect, AnsweredBy.Slm) : new(q.LlmCost, q.LlmCorrect, AnsweredBy.Llm);
            case StrategyKind.OracleCascade:
                return q.SlmPassed ? new(q.SlmRunCost, q.SlmCorrect, AnsweredBy.Slm) : new(q.SlmRunCost + q.LlmCost, q.LlmCorrect, AnsweredBy.Llm);
            default:
                return _executor.Run(query, p);
        }
    }

    private void Attach(PolicyScores scores, PolicyMode mode)
    {
        if (scores.Mode != mode)
        {
            throw new ArgumentException($"The {mode.ToWire()} scores come from a {scores.Mode.ToWire()} bundle.", nameof(scores));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(scores.NMax);
        foreach (var q in _queries)
        {
            if (!scores.ById.TryGetValue(q.Id, out var score))
            {
                throw new ReplayDataException(q.Id, $"no {mode.ToWire()} policy score");
            }

            if (!(score.PHint is >= 0 and <= 1) || double.IsNaN(score.RawSize))
            {
                throw new ReplayDataException(q.Id, $"the {mode.ToWire()} score is not a probability and a size");
            }

            var n = PolicyDecisionRule.HintTokens(score.RawSize, scores.NMax);
            if (mode == PolicyMode.Proactive)
            {
                (q.ProactiveP, q.ProactiveHint, q.ProactiveShepherdCost, q.ProactiveShepherdCorrect) = (score.PHint, n, q.ShepherdCost(n), q.HintedCorrect(n));
            }
            else
            {
                (q.ReactiveP, q.ReactiveHint, q.ReactiveShepherdCost, q.ReactiveShepherdCorrect) = (score.PHint, n, q.ShepherdCost(n), q.HintedCorrect(n));
            }
        }
    }
}
