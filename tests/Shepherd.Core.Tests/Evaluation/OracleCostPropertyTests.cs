using Shepherd.Core.Cost;
using Shepherd.Core.Evaluation;
using Shepherd.Core.Policy;
using Shepherd.Core.Strategies;

namespace Shepherd.Core.Tests.Evaluation;

/// <summary>paper.md, "oracle costs": with a free SLM, per query, shepherd ≤ route = cascade.</summary>
public sealed class OracleCostPropertyTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void WithAFreeSlmOracleShepherdingCostsNoMoreThanOracleRoutingWhichEqualsOracleCascading(int seed)
    {
        var evaluator = new ReplayEvaluator(Population(seed, 300));

        var shepherd = evaluator.EvaluateQueries(new ReplayPoint(StrategyKind.Oracle));
        var route = evaluator.EvaluateQueries(new ReplayPoint(StrategyKind.OracleRoute));
        var cascade = evaluator.EvaluateQueries(new ReplayPoint(StrategyKind.OracleCascade));

        for (var i = 0; i < shepherd.Count; i++)
        {
            Assert.True(shepherd[i].Cost <= route[i].Cost, $"seed {seed}, {shepherd[i].Id}: shepherd {shepherd[i].Cost} > route {route[i].Cost}");
            Assert.Equal(route[i].Cost, cascade[i].Cost);
            Assert.True(shepherd[i].Correct >= route[i].Correct);
        }
    }

    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    public void WithAPricedSlmOracleCascadingCostsAtLeastOracleRouting(int seed)
    {
        var evaluator = new ReplayEvaluator(Population(seed, 200), new ReplayOptions { SlmPrice = new ModelPrice(0.05, 0.08) });

        var route = evaluator.EvaluateQueries(new ReplayPoint(StrategyKind.OracleRoute));
        var cascade = evaluator.EvaluateQueries(new ReplayPoint(StrategyKind.OracleCascade));

        Assert.All(route.Zip(cascade), pair => Assert.True(pair.First.Cost <= pair.Second.Cost));
    }

    [Fact]
    public void OracleShepherdingMatchesThePapersFormula()
    {
        var records = Population(11, 200);
        var evaluator = new ReplayEvaluator(records);

        var shepherd = evaluator.EvaluateQueries(new ReplayPoint(StrategyKind.Oracle));

        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            var expected = r.NStar switch
            {
                0 => 0,
                LabelRecord.NoHintSufficed => r.LlmPromptTokens!.Value * ReplayLabels.In + r.LlmAnswerTokens * ReplayLabels.Out,
                var n => r.LlmPromptTokens!.Value * ReplayLabels.In + n * ReplayLabels.Out,
            };
            Assert.Equal(expected, shepherd[i].Cost, tolerance: 1e-15);
        }
    }

    /// <summary>Random queries: random lengths, random ladders (not necessarily monotone), random LLM outcomes.</summary>
    private static IReadOnlyList<LabelRecord> Population(int seed, int count)
    {
        var random = new Random(seed);
        var records = new List<LabelRecord>();
        for (var i = 0; i < count; i++)
        {
            var answer = random.Next(0, 400);
            var levels = Enumerable.Range(0, 10)
                .Select(p => new LabelLevel { Percent = p * 10, HintTokens = p * 10 * answer / 100, Passed = random.NextDouble() < 0.15 + 0.06 * p })
                .ToArray();
            records.Add(new LabelRecord
            {
                Id = $"r{i}",
                Query = "q",
                Task = "generic",
                NStar = levels.FirstOrDefault(l => l.Passed)?.HintTokens ?? LabelRecord.NoHintSufficed,
                LlmAnswerTokens = answer,
                Levels = levels,
                Split = LabelSplit.Test,
                LlmPassed = random.NextDouble() < 0.8,
                LlmPromptTokens = random.Next(10, 900),
                SlmPromptTokens = random.Next(10, 900),
                SlmAnswerTokens = random.Next(0, 500),
            });
        }

        return records;
    }
}
