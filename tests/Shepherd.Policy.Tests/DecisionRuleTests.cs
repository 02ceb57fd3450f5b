using Shepherd.Core.Policy;

namespace Shepherd.Policy.Tests;

public sealed class DecisionRuleTests
{
    private static double RawSizeFor(double n) => Math.Log(1 + n);

    [Fact]
    public void ProbabilityBelowAlphaMeansNoHint()
    {
        var decision = PolicyDecisionRule.Decide(pHint: 0.2999, rawSize: RawSizeFor(40), alpha: 0.3, etaHint: 10, nMax: 100);

        Assert.Equal(HintDecision.SlmOnly, decision);
    }

    [Fact]
    public void ProbabilityEqualToAlphaAsksForAHint()
    {
        var decision = PolicyDecisionRule.Decide(pHint: 0.3, rawSize: RawSizeFor(40), alpha: 0.3, etaHint: 100, nMax: 100);

        Assert.Equal(new HintDecision(40, RouteToLlm: false), decision);
    }

    [Fact]
    public void HintEqualToEtaIsStillAHintAndOneMoreRoutesToTheLlm()
    {
        Assert.False(PolicyDecisionRule.Decide(0.9, RawSizeFor(58), 0.5, etaHint: 58, nMax: 500).RouteToLlm);
        Assert.True(PolicyDecisionRule.Decide(0.9, RawSizeFor(59), 0.5, etaHint: 58, nMax: 500).RouteToLlm);
    }

    [Theory]
    [InlineData(-3.0, 0)]       // exp(r̂) − 1 < 0 clips to 0
    [InlineData(9.0, 200)]      // above N_max clips to N_max
    [InlineData(double.PositiveInfinity, 200)]
    [InlineData(double.NegativeInfinity, 0)]
    public void HintSizeIsClippedToZeroAndNMax(double rawSize, int expected)
    {
        Assert.Equal(expected, PolicyDecisionRule.HintTokens(rawSize, nMax: 200));
    }

    [Theory]
    [InlineData(2.5, 2)]
    [InlineData(3.5, 4)]
    [InlineData(2.4999, 2)]
    [InlineData(2.5001, 3)]
    public void HintSizeRoundsHalfToEven(double n, int expected)
    {
        Assert.Equal(expected, PolicyDecisionRule.HintTokens(RawSizeFor(n), nMax: 100));
    }

    [Fact]
    public void ClippingHappensBeforeRounding()
    {
        // 200.4 would round to 200 anyway; 200.6 clips to 200 instead of rounding to 201.
        Assert.Equal(200, PolicyDecisionRule.HintTokens(RawSizeFor(200.6), nMax: 200));
    }

    [Fact]
    public void ZeroHintAfterAlphaIsNotRoutedEvenWithEtaZero()
    {
        Assert.Equal(new HintDecision(0, false), PolicyDecisionRule.Decide(0.9, RawSizeFor(0.2), 0.5, etaHint: 0, nMax: 10));
    }

    [Theory]
    [InlineData(-0.01, 5)]
    [InlineData(1.01, 5)]
    [InlineData(double.NaN, 5)]
    [InlineData(0.5, -1)]
    public void OutOfRangeThresholdsAreRejected(double alpha, int eta)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PolicyDecisionRule.Decide(0.5, 1, alpha, eta, 10));
    }

    [Fact]
    public void AlphaBoundsAreInclusive()
    {
        Assert.Equal(0, PolicyDecisionRule.Decide(0.999, RawSizeFor(5), alpha: 1, etaHint: 10, nMax: 10).HintTokens);
        Assert.Equal(5, PolicyDecisionRule.Decide(1.0, RawSizeFor(5), alpha: 1, etaHint: 10, nMax: 10).HintTokens);
        Assert.Equal(5, PolicyDecisionRule.Decide(0.0, RawSizeFor(5), alpha: 0, etaHint: 10, nMax: 10).HintTokens);
    }
}
