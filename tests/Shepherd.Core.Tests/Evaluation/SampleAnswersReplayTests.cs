using Shepherd.Core.Evaluation;
using Shepherd.Core.Policy;
using Shepherd.Core.Strategies;
using static Shepherd.Core.Tests.Evaluation.ReplayLabels;

namespace Shepherd.Core.Tests.Evaluation;

/// <summary>Labels keep each of the K samples, so the paper's N = 2 ABC, any k of N and one-sample scorers replay exactly.</summary>
public sealed class SampleAnswersReplayTests
{
    private static readonly ReplayOptions Options = new() { SlmPrice = new(1, 1) };

    // Samples "7", "7", "9": the first two agree (and are right); all three do not.
    private static LabelRecord WithSamples(string id, params (string? Key, bool Passed, double Entropy)[] samples) =>
        Record(id, promptTokens: 50, answerTokens: 100, passFrom: 0, agreeMax: samples.GroupBy(s => s.Key).Max(g => g.Count()), samples: samples.Length, slmPromptTokens: 10, slmAnswerTokens: 20) with
        {
            SampleAnswers = [.. samples.Select(s => new LabelSample { Key = s.Key, Passed = s.Passed, Entropy = s.Entropy, Tokens = 20 })],
            ConsensusPassed = samples.GroupBy(s => s.Key).OrderByDescending(g => g.Count()).First().First().Passed,
        };

    [Fact]
    public void ThePapersAbcDrawsTwoAnswersAndEscalatesOnlyWhenTheyDisagree()
    {
        var records = new[]
        {
            WithSamples("agree-first-two", ("7", true, 0.1), ("7", true, 0.1), ("9", false, 0.1)),
            WithSamples("disagree-first-two", ("7", true, 0.1), ("9", false, 0.1), ("7", true, 0.1)),
        };
        var evaluator = new ReplayEvaluator(records, Options);

        var paper = evaluator.EvaluateQueries(new ReplayPoint(StrategyKind.CascadeAbc, Agree: 2, Samples: 2));
        var threeOfThree = evaluator.EvaluateQueries(new ReplayPoint(StrategyKind.CascadeAbc, Agree: 3));

        // 2 of 2: the first query returns the pair's answer at two samples' cost; the second buys the LLM.
        var twoSamples = (10 + (2 * 20)) * 1e-6;
        Assert.Equal(twoSamples, paper[0].Cost, 12);
        Assert.Equal(twoSamples + (50 * In) + (100 * Out), paper[1].Cost, 12);
        // 3 of 3 escalates both.
        Assert.All(threeOfThree, r => Assert.True(r.Cost > (50 * In) + (100 * Out)));
        Assert.Equal("cascade-abc (2 of N=2)", new ReplayPoint(StrategyKind.CascadeAbc, Agree: 2, Samples: 2).ToString());
    }

    [Fact]
    public void TheScorerReadsOneSamplesEntropyNotTheKSampleMean()
    {
        // First sample confident (entropy 0.1), the others not: the mean (≈ 2.03) would escalate at θ = 0.5.
        var record = WithSamples("one", ("7", true, 0.1), ("8", false, 3.0), ("9", false, 3.0)) with
        {
            Features = new Dictionary<string, double> { [PolicyFeatureNames.MeanEntropy] = 2.03 },
        };
        var evaluator = new ReplayEvaluator([record], Options);

        var result = evaluator.Evaluate(new ReplayPoint(StrategyKind.CascadeScorer, Threshold: 0.5));

        Assert.Equal(0, result.LlmAnswers);
        Assert.Equal(0.1, evaluator.Queries[0].ScorerEntropy);
    }

    [Fact]
    public void SampleAnswersRoundTripAndOldLabelsStillReplayKOfK()
    {
        var record = WithSamples("rt", ("7", true, 0.25), (null, false, 1.5), ("7", true, 0.5));
        var line = LabelFile.Format(record);

        Assert.Contains("\"sample_answers\":[{\"key\":\"7\",\"passed\":true,\"entropy\":0.25,\"tokens\":20}", line, StringComparison.Ordinal);
        Assert.Equal(line, LabelFile.Format(LabelFile.Parse(line, "rt.jsonl", 1)));

        var old = record with { SampleAnswers = null };
        var evaluator = new ReplayEvaluator([old], Options);
        Assert.False(evaluator.Queries[0].HasSampleAnswers);
        Assert.Equal(1, evaluator.Evaluate(new ReplayPoint(StrategyKind.CascadeAbc, Agree: 2)).Correct);
    }

    [Fact]
    public void SampleAnswersMustMatchSamples()
    {
        var record = WithSamples("bad", ("7", true, 0.25), ("7", true, 0.5)) with { Samples = 3, AgreeMax = 2 };

        Assert.Contains("sample_answers", record.Validate(), StringComparison.Ordinal);
    }
}
