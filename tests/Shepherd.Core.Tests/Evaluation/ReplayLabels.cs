using Shepherd.Core.Evaluation;
using Shepherd.Core.Policy;

namespace Shepherd.Core.Tests.Evaluation;

/// <summary>Builds replay-ready label records for the tests.</summary>
internal static class ReplayLabels
{
    /// <summary>A record whose ladder passes from <paramref name="passFrom"/> (an n_p; null = no level passes).</summary>
    public static LabelRecord Record(
        string id,
        int promptTokens,
        int answerTokens,
        int? passFrom,
        bool llmPassed = true,
        int agreeMax = 1,
        bool consensusPassed = false,
        int samples = 3,
        int slmPromptTokens = 0,
        double slmAnswerTokens = 0,
        IReadOnlyList<int>? percents = null,
        double? meanEntropy = null)
    {
        var levels = (percents ?? [0, 10, 20, 30, 40, 50, 60, 70, 80, 90])
            .Select(p => (p, n: p * answerTokens / 100))
            .Select(l => new LabelLevel { Percent = l.p, HintTokens = l.n, Passed = passFrom is { } from && l.n >= from })
            .ToArray();
        var nStar = levels.FirstOrDefault(l => l.Passed)?.HintTokens ?? LabelRecord.NoHintSufficed;
        return new LabelRecord
        {
            Id = id,
            Query = "q " + id,
            Task = "gsm8k",
            NStar = nStar,
            LlmAnswerTokens = answerTokens,
            Levels = levels,
            Split = LabelSplit.Test,
            LlmPassed = llmPassed,
            LlmPromptTokens = promptTokens,
            SlmPromptTokens = slmPromptTokens,
            SlmAnswerTokens = slmAnswerTokens,
            Samples = samples,
            AgreeMax = agreeMax,
            ConsensusPassed = consensusPassed,
            Features = meanEntropy is { } e ? new Dictionary<string, double> { [PolicyFeatureNames.MeanEntropy] = e } : new Dictionary<string, double>(),
        };
    }

    /// <summary>Scores whose decided n is exactly <paramref name="hintTokens"/> (r̂ = log(1 + n)).</summary>
    public static PolicyScore Score(double pHint, int hintTokens) => new(pHint, Math.Log(1.0 + hintTokens));

    public static PolicyScores Scores(PolicyMode mode, int nMax, params (string Id, PolicyScore Score)[] scores) =>
        new(mode, nMax, scores.ToDictionary(s => s.Id, s => s.Score));

    /// <summary>The paper's LLM prices, per token.</summary>
    public const double In = 0.59e-6;
    public const double Out = 0.79e-6;
}
