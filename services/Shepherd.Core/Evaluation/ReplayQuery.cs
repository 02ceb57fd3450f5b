using Shepherd.Core.Policy;
using Shepherd.Core.Strategies;

namespace Shepherd.Core.Evaluation;

/// <summary>The policy's raw output for one query: P(hint) = σ(ŷ) and r̂ (the predicted log(1 + n*)).</summary>
public readonly record struct PolicyScore(double PHint, double RawSize);

/// <summary>A bundle's scores for the queries of a replay, by record id, and the bundle's N_max.</summary>
public sealed record PolicyScores(PolicyMode Mode, int NMax, IReadOnlyDictionary<string, PolicyScore> ById);

/// <summary>
/// One labelled query compiled for replay (docs/labels.md, "Replay"): every cost in USD, every correctness in
/// [0, 1] (1/0 under majority scoring, a pass rate otherwise). Built once; the evaluator only reads it.
/// </summary>
public sealed class ReplayQuery
{
    private readonly int[] _rungTokens;
    private readonly double[] _rungCorrect;
    private readonly double[] _rungSlmCost;
    private readonly ReplayOptions _options;

    internal ReplayQuery(LabelRecord record, ReplayOptions options)
    {
        Id = record.Id;
        _options = options;
        LlmAnswerTokens = record.LlmAnswerTokens;
        LlmPromptTokens = record.LlmPromptTokens ?? throw new ReplayDataException(Id, "'llm_prompt_tokens' is missing (replay needs it for the LLM's input cost)");
        LlmPassed = record.LlmPassed ?? throw new ReplayDataException(Id, "'llm_passed' is missing (the LLM-only outcome)");
        if (record.Levels is not { Count: > 0 } levels)
        {
            throw new ReplayDataException(Id, "'levels' is empty; replay needs the hint ladder, level 0 at least");
        }

        var slmFree = options.SlmPrice.InputPerMillion == 0 && options.SlmPrice.OutputPerMillion == 0;
        if (!slmFree && (record.SlmPromptTokens is null || record.SlmAnswerTokens is null))
        {
            throw new ReplayDataException(Id, "'slm_prompt_tokens' and 'slm_answer_tokens' are needed when the SLM has a price");
        }

        SlmPromptTokens = record.SlmPromptTokens ?? 0;
        SlmAnswerTokens = record.SlmAnswerTokens ?? 0;
        var scoring = options.ScoringFor(record.Trials ?? 1, Id);

        // Rungs: the ladder's levels merged by n_p (short answers give equal n_p to several percents). A merged
        // rung passes when any of its levels passed, as n* ("the smallest n_p that passes") counts it.
        var rungs = levels
            .GroupBy(l => l.HintTokens)
            .OrderBy(g => g.Key)
            .Select(g => (Tokens: g.Key, Passed: g.Any(l => l.Passed), Correct: g.Max(l => Correctness(l, scoring)), Answer: g.Average(l => l.SlmAnswerTokens ?? SlmAnswerTokens)))
            .ToArray();
        if (rungs[0].Tokens != 0)
        {
            throw new ReplayDataException(Id, "the ladder has no level with n_p = 0 (the SLM-only outcome)");
        }

        if (rungs[^1].Tokens > LlmAnswerTokens)
        {
            throw new ReplayDataException(Id, $"a level's n_p ({rungs[^1].Tokens}) exceeds 'llm_answer_tokens' ({LlmAnswerTokens})");
        }

        _rungTokens = rungs.Select(r => r.Tokens).ToArray();
        _rungCorrect = rungs.Select(r => r.Correct).ToArray();
        _rungSlmCost = rungs.Select(r => r.Answer * options.SlmPrice.OutputPerMillion / 1e6).ToArray();
        SlmPassed = rungs[0].Passed;
        OracleHint = rungs.FirstOrDefault(r => r.Passed) is { Passed: true } first ? first.Tokens : LabelRecord.NoHintSufficed;

        LlmCorrect = LlmPassed ? 1 : 0;
        SlmCorrect = _rungCorrect[0];
        LlmCost = options.LlmPrice.Input(LlmPromptTokens) + options.LlmPrice.Output(LlmAnswerTokens);
        SlmRunCost = SlmCost(SlmPromptTokens, SlmAnswerTokens, samples: 1);

        if (record.Samples is { } k && record.AgreeMax is { } agree && record.ConsensusPassed is { } consensus)
        {
            Samples = k;
            AgreeMax = agree;
            ConsensusCorrect = consensus ? 1 : 0;
            ConsensusCost = SlmCost(SlmPromptTokens, SlmAnswerTokens, k);
            _abc = [.. Enumerable.Range(1, k).Select(n => Abc(record, n, agree, consensus))];
        }

        MeanEntropy = record.Features.TryGetValue(PolicyFeatureNames.MeanEntropy, out var entropy) ? entropy : double.NaN;
        // The live scorer scores one SLM answer: the first sample's entropy when the labels keep each sample.
        ScorerEntropy = record.SampleAnswers is [var firstSample, ..] ? firstSample.Entropy : MeanEntropy;
        HasSampleAnswers = record.SampleAnswers is { Count: > 0 };
    }

    /// <summary>Whether the record keeps each sample (any N ≤ K replays exactly), not only K's summary.</summary>
    public bool HasSampleAnswers { get; }

    /// <summary>The entropy cascade-scorer scores without reactive scores: one sample's, else the K-sample mean.</summary>
    public double ScorerEntropy { get; }

    /// <summary>cascade-abc drawing the first <paramref name="n"/> samples: the most agreeing, the majority's correctness, the cost.</summary>
    public (int AgreeMax, double Correct, double Cost) AbcOf(int n) =>
        n >= 1 && n <= _abc.Length ? _abc[n - 1] : throw new ReplayDataException(Id, $"cascade-abc with N = {n} needs {n} samples; the record has {_abc.Length}");

    private (int AgreeMax, double Correct, double Cost)[] _abc = [];

    private (int, double, double) Abc(LabelRecord record, int n, int agreeMax, bool consensus)
    {
        if (record.SampleAnswers is not { } answers || answers.Count < n)
        {
            // Old labels: only K's summary; fewer samples cannot be replayed, so they read as K's (HasSampleAnswers says so).
            return (agreeMax, consensus ? 1 : 0, SlmCost(SlmPromptTokens, SlmAnswerTokens, n));
        }

        var drawn = answers.Take(n).ToArray();
        var vote = Consensus.Vote([.. drawn.Select(a => a.Key)], 1);
        var passed = vote.FirstIndex >= 0 && drawn[vote.FirstIndex].Passed;
        return (vote.Votes, passed ? 1 : 0, SlmCost(SlmPromptTokens, drawn.Average(a => (double)a.Tokens), n));
    }

    public string Id { get; }

    /// <summary>|q|: the LLM's billed prompt tokens.</summary>
    public int LlmPromptTokens { get; }

    /// <summary>|h_l(q)|.</summary>
    public int LlmAnswerTokens { get; }

    public bool LlmPassed { get; }

    public int SlmPromptTokens { get; }

    public double SlmAnswerTokens { get; }

    /// <summary>I_s(q): the SLM alone passes (the n_p = 0 rung, majority).</summary>
    public bool SlmPassed { get; }

    /// <summary>n* recomputed from the ladder: the smallest passing n_p, or −1 when no level passed.</summary>
    public int OracleHint { get; }

    /// <summary>K, or 0 when the record has no consensus information.</summary>
    public int Samples { get; }

    public int AgreeMax { get; }

    public bool HasConsensus => Samples > 0;

    public double MeanEntropy { get; }

    public double LlmCost { get; }

    public double LlmCorrect { get; }

    /// <summary>One SLM answer without a hint: |q_s|·c_in_s + |h_s|·c_out_s.</summary>
    public double SlmRunCost { get; }

    public double SlmCorrect { get; }

    /// <summary>K samples in one call: the prompt once (shared prefill, as the slm-service bills it) and K answers.</summary>
    public double ConsensusCost { get; }

    public double ConsensusCorrect { get; }

    // Filled by ReplayEvaluator from the policy scores: the decided n (before the α and η gates, which only
    // compare), and the outcome and cost of shepherding with that n.
    internal double ProactiveP = double.NaN;
    internal int ProactiveHint;
    internal double ProactiveShepherdCost;
    internal double ProactiveShepherdCorrect;
    internal double ReactiveP = double.NaN;
    internal int ReactiveHint;
    internal double ReactiveShepherdCost;
    internal double ReactiveShepherdCorrect;
    internal double ScorerP = double.NaN;

    /// <summary>
    /// The correctness of the SLM finishing a hint of n LLM tokens: n ≤ 0 is the SLM alone; n ≥ |h_l| is the
    /// LLM's full answer (its outcome, <c>llm_passed</c>); otherwise the rung with the largest n_p ≤ n (a
    /// step function: a hint between two measured levels scores as the smaller one).
    /// </summary>
    public double HintedCorrect(int n) => n >= LlmAnswerTokens && n > 0 ? LlmCorrect : _rungCorrect[Rung(n)];

    /// <summary>
    /// c_shep(q, n) = |q|·c_in_l + m·c_out_l + (|q_s| + m)·c_in_s + |h_s^(n)|·c_out_s with m = min(n, |h_l|) (the LLM
    /// stops at the end of its answer); n = 0 is one SLM answer. The SLM prompt grows by the hint's m tokens
    /// (exact when the two models share a tokenizer); |h_s^(n)| is the rung's answer length when labelled.
    /// </summary>
    public double ShepherdCost(int n)
    {
        if (n <= 0)
        {
            return SlmRunCost;
        }

        var m = Math.Min(n, LlmAnswerTokens);
        var llm = _options.LlmPrice.Input(LlmPromptTokens) + _options.LlmPrice.Output(m);
        var slmAnswer = n >= LlmAnswerTokens ? SlmAnswerTokens * _options.SlmPrice.OutputPerMillion / 1e6 : _rungSlmCost[Rung(n)];
        return llm + _options.SlmPrice.Input(SlmPromptTokens + m) + slmAnswer;
    }

    private int Rung(int n)
    {
        if (n <= 0)
        {
            return 0;
        }

        var index = Array.BinarySearch(_rungTokens, n);
        return index >= 0 ? index : ~index - 1;
    }

    private double SlmCost(int prompt, double answer, int samples) =>
        _options.SlmPrice.Input(prompt) + samples * answer * _options.SlmPrice.OutputPerMillion / 1e6;

    private double Correctness(LabelLevel level, ReplayScoring scoring) => scoring switch
    {
        ReplayScoring.PassRate => level.PassRate ?? throw new ReplayDataException(Id, $"level {level.Percent}% has no 'pass_rate' (needed to score single trials)"),
        _ => level.Passed ? 1 : 0,
    };
}
