using Shepherd.Core.Cost;
using Shepherd.Core.Evaluation;
using Shepherd.Core.Policy;
using static Shepherd.Core.Tests.Evaluation.ReplayLabels;
using Shepherd.Core.Strategies;

namespace Shepherd.Core.Tests.Evaluation;

public sealed class ReplayEvaluatorTests
{
    // q1: the SLM passes alone and 3 of 3 samples agree on the right answer.
    // q2: needs 20 LLM tokens (levels n_p = 0, 10 fail; 20 and up pass); the samples disagree.
    // q3: no hint level passes, only the LLM; 2 of 3 samples agree on a wrong answer.
    private static readonly LabelRecord[] Records =
    [
        Record("q1", promptTokens: 100, answerTokens: 50, passFrom: 0, agreeMax: 3, consensusPassed: true),
        Record("q2", promptTokens: 200, answerTokens: 100, passFrom: 20, agreeMax: 1),
        Record("q3", promptTokens: 150, answerTokens: 80, passFrom: null, agreeMax: 2),
    ];

    private static readonly PolicyScores Proactive = Scores(PolicyMode.Proactive, 128, ("q1", Score(0.2, 0)), ("q2", Score(0.8, 25)), ("q3", Score(0.9, 200)));

    private static readonly PolicyScores Reactive = Scores(PolicyMode.Reactive, 128, ("q1", Score(0.1, 0)), ("q2", Score(0.7, 15)), ("q3", Score(0.95, 40)));

    private static ReplayEvaluator Evaluator(ReplayOptions? options = null) => new(Records, options, Proactive, Reactive);

    public static TheoryData<ReplayPoint, double, double> HandComputed => new()
    {
        // LLM: q1 100·in + 50·out; q2 200·in + 100·out; q3 150·in + 80·out.
        { new(StrategyKind.Llm), 98.5e-6 + 197e-6 + 151.7e-6, 3 },
        { new(StrategyKind.Slm), 0, 1 },
        // route α = 0.5: q1 to the SLM, q2 and q3 to the LLM.
        { new(StrategyKind.Route, Alpha: 0.5), 197e-6 + 151.7e-6, 3 },
        { new(StrategyKind.Route, Alpha: 0.95), 0, 1 },
        // cascade-abc: k = 3 escalates q2 and q3; k = 2 keeps q3's wrong majority.
        { new(StrategyKind.CascadeAbc, Agree: 3), 197e-6 + 151.7e-6, 3 },
        { new(StrategyKind.CascadeAbc, Agree: 2), 197e-6, 2 },
        // proactive α = 0.5, η = 64: q1 alone; q2 a 25-token hint (200·in + 25·out, the n_p = 20 level passes); q3 n = 128 > η → LLM.
        { new(StrategyKind.Proactive, Alpha: 0.5, EtaHint: 64), 137.75e-6 + 151.7e-6, 3 },
        // η = 20: q2's n = 25 routes to the LLM too.
        { new(StrategyKind.Proactive, Alpha: 0.5, EtaHint: 20), 197e-6 + 151.7e-6, 3 },
        // reactive k = 3: q1 by consensus; q2 a 15-token hint (the n_p = 10 level: fails), q3 a 40-token hint (fails).
        { new(StrategyKind.Reactive, Alpha: 0.5, EtaHint: 64, Agree: 3), (118e-6 + 11.85e-6) + (88.5e-6 + 31.6e-6), 1 },
        // oracle: q1 free, q2 exactly n* = 20 (200·in + 20·out), q3 the LLM's answer.
        { new(StrategyKind.Oracle), 133.8e-6 + 151.7e-6, 3 },
        { new(StrategyKind.OracleRoute), 197e-6 + 151.7e-6, 3 },
        { new(StrategyKind.OracleCascade), 197e-6 + 151.7e-6, 3 },
    };

    [Theory]
    [MemberData(nameof(HandComputed))]
    public void ReplayGivesTheHandComputedCostAndAccuracy(ReplayPoint point, double cost, double correct)
    {
        var result = Evaluator().Evaluate(point);

        Assert.Equal(cost, result.CostUsd, tolerance: 1e-12);
        Assert.Equal(correct, result.Correct);
        Assert.Equal(3, result.Queries);
    }

    [Fact]
    public void ScorerCascadeRatesTheSlmAnswerByTheReactiveHead()
    {
        // confidence = 1 − P: q1 0.9, q2 0.3, q3 0.05; θ = 0.5 keeps q1 and escalates the others.
        var result = Evaluator().Evaluate(new ReplayPoint(StrategyKind.CascadeScorer, Threshold: 0.5));

        Assert.Equal(197e-6 + 151.7e-6, result.CostUsd, tolerance: 1e-12);
        Assert.Equal((1, 0, 2), (result.SlmAnswers, result.Hinted, result.LlmAnswers));
    }

    [Fact]
    public void ScorerCascadeFallsBackToEntropyWithoutAReactivePolicy()
    {
        var records = new[] { Record("a", 10, 10, 0, meanEntropy: 0.1), Record("b", 10, 10, null, meanEntropy: 3) };
        var evaluator = new ReplayEvaluator(records);

        // exp(−0.1) = 0.90 keeps a; exp(−3) = 0.05 escalates b.
        var result = evaluator.Evaluate(new ReplayPoint(StrategyKind.CascadeScorer, Threshold: 0.5));

        Assert.Equal((1, 1), (result.SlmAnswers, result.LlmAnswers));
    }

    [Fact]
    public void APricedSlmAddsItsPromptHintAndAnswerTokens()
    {
        // SLM $0.1/M in, $0.2/M out; 50 prompt tokens, 30 answer tokens.
        var record = Record("q2", promptTokens: 200, answerTokens: 100, passFrom: 20, agreeMax: 1, slmPromptTokens: 50, slmAnswerTokens: 30);
        var options = new ReplayOptions { SlmPrice = new ModelPrice(0.1, 0.2) };
        var evaluator = new ReplayEvaluator([record], options, Scores(PolicyMode.Proactive, 128, ("q2", Score(0.8, 25))), Scores(PolicyMode.Reactive, 128, ("q2", Score(0.7, 15))));

        Assert.Equal(11e-6, evaluator.Evaluate(new(StrategyKind.Slm)).CostUsd, tolerance: 1e-12);
        // 200·in + 25·out + (50 + 25)·0.1e-6 + 30·0.2e-6
        Assert.Equal(137.75e-6 + 7.5e-6 + 6e-6, evaluator.Evaluate(new(StrategyKind.Proactive, Alpha: 0.5, EtaHint: 64)).CostUsd, tolerance: 1e-12);
        // K = 3 samples: the prompt once, three answers; then the LLM.
        Assert.Equal(5e-6 + 18e-6 + 197e-6, evaluator.Evaluate(new(StrategyKind.CascadeAbc, Agree: 3)).CostUsd, tolerance: 1e-12);
        // samples, then a 15-token hint and one SLM answer.
        Assert.Equal(23e-6 + 118e-6 + 11.85e-6 + 6.5e-6 + 6e-6, evaluator.Evaluate(new(StrategyKind.Reactive, Alpha: 0.5, EtaHint: 64, Agree: 3)).CostUsd, tolerance: 1e-12);
        // oracle cascading pays the SLM answer before the LLM's; oracle routing does not.
        Assert.Equal(11e-6 + 197e-6, evaluator.Evaluate(new(StrategyKind.OracleCascade)).CostUsd, tolerance: 1e-12);
        Assert.Equal(197e-6, evaluator.Evaluate(new(StrategyKind.OracleRoute)).CostUsd, tolerance: 1e-12);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(10, 0)]
    [InlineData(19, 0)]
    [InlineData(20, 1)]
    [InlineData(55, 1)]
    [InlineData(99, 1)]
    public void AHintScoresAsTheLargestMeasuredLevelAtOrBelowIt(int n, double expected)
    {
        var query = new ReplayEvaluator([Records[1]]).Queries[0];

        Assert.Equal(expected, query.HintedCorrect(n));
    }

    [Fact]
    public void AHintAsLongAsTheLlmAnswerScoresAsTheLlm()
    {
        var query = new ReplayEvaluator([Record("x", 10, 100, passFrom: 20, llmPassed: false)]).Queries[0];

        Assert.Equal(1, query.HintedCorrect(99));
        Assert.Equal(0, query.HintedCorrect(100));
        Assert.Equal(0, query.HintedCorrect(500));
        Assert.Equal(10 * In + 100 * Out, query.ShepherdCost(500), tolerance: 1e-15);
    }

    [Fact]
    public void LevelsWithTheSameHintLengthPassWhenAnyPassed()
    {
        // |h_l| = 5: the 0 % and 10 % levels both have n_p = 0; the second passed.
        var record = Record("short", 10, 5, passFrom: null) with
        {
            Levels = [new() { Percent = 0, HintTokens = 0, Passed = false }, new() { Percent = 10, HintTokens = 0, Passed = true }, new() { Percent = 20, HintTokens = 1, Passed = false }],
            NStar = 0,
        };

        var query = new ReplayEvaluator([record]).Queries[0];

        Assert.True(query.SlmPassed);
        Assert.Equal(0, query.OracleHint);
    }

    [Fact]
    public void TheDecisionMatchesPolicyDecisionRuleEverywhere()
    {
        var random = new Random(17);
        for (var i = 0; i < 2000; i++)
        {
            var p = Math.Round(random.NextDouble(), 2);
            var raw = random.NextDouble() * 6;
            var alpha = Math.Round(random.NextDouble(), 2);
            var eta = random.Next(0, 120);
            var record = Record("x", 10, 200, passFrom: 40);
            var evaluator = new ReplayEvaluator([record], null, Scores(PolicyMode.Proactive, 150, ("x", new PolicyScore(p, raw))));

            var result = evaluator.Evaluate(new ReplayPoint(StrategyKind.Proactive, Alpha: alpha, EtaHint: eta));
            var decision = PolicyDecisionRule.Decide(p, raw, alpha, eta, 150);

            var expected = decision.RouteToLlm ? (0, 0, 1) : decision.HintTokens == 0 ? (1, 0, 0) : (0, 1, 0);
            Assert.Equal(expected, (result.SlmAnswers, result.Hinted, result.LlmAnswers));
            if (expected.Item2 == 1)
            {
                Assert.Equal(10 * In + decision.HintTokens * Out, result.CostUsd, tolerance: 1e-15);
            }
        }
    }

    [Fact]
    public void MissingReplayFieldsNameTheRecord()
    {
        var ex = Assert.Throws<ReplayDataException>(() => new ReplayEvaluator([Records[0], Records[1] with { LlmPassed = null }]));

        Assert.Equal("q2", ex.RecordId);
        Assert.Contains("llm_passed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StrategiesWithoutTheirInputsAreReportedAndRefused()
    {
        var evaluator = new ReplayEvaluator(Records);

        Assert.False(evaluator.CanRun(StrategyKind.Proactive, out var reason));
        Assert.Contains("proactive", reason, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => evaluator.Evaluate(new ReplayPoint(StrategyKind.Reactive, Agree: 3)));
        Assert.True(evaluator.CanRun(StrategyKind.CascadeAbc, out _));
    }

    [Fact]
    public void SingleTrialScoringReadsThePassRateOfSevenTrialLabels()
    {
        var record = Records[1] with
        {
            Trials = 7,
            Levels = [new() { Percent = 0, HintTokens = 0, Passed = false, PassRate = 3 / 7.0 }, new() { Percent = 20, HintTokens = 20, Passed = true, PassRate = 6 / 7.0 }],
        };

        var majority = new ReplayEvaluator([record], new ReplayOptions { Trials = 7 }).Evaluate(new(StrategyKind.Slm));
        var single = new ReplayEvaluator([record], new ReplayOptions { Trials = 1 }).Evaluate(new(StrategyKind.Slm));

        Assert.Equal(0, majority.Correct);
        Assert.Equal(3 / 7.0, single.Correct, tolerance: 1e-12);
        Assert.Throws<ReplayDataException>(() => new ReplayEvaluator([record], new ReplayOptions { Trials = 3 }));
    }
}
