using Shepherd.Core.Strategies;

namespace Shepherd.Core.Tests.Strategies;

public sealed class FailureTableTests
{
    [Theory]
    [InlineData(StepFailure.LlmUnavailable, LlmFailureMode.Degrade, true)]
    [InlineData(StepFailure.LlmUnavailable, LlmFailureMode.Fail, false)]
    [InlineData(StepFailure.LlmRefused, LlmFailureMode.Degrade, true)]
    [InlineData(StepFailure.LlmRefused, LlmFailureMode.Fail, false)]
    [InlineData(StepFailure.BudgetExhausted, LlmFailureMode.Degrade, true)]
    [InlineData(StepFailure.BudgetExhausted, LlmFailureMode.Fail, true)]
    [InlineData(StepFailure.LlmOverloaded, LlmFailureMode.Degrade, true)]
    [InlineData(StepFailure.LlmOverloaded, LlmFailureMode.Fail, false)]
    public void TheSlmAnswersForAFailingLlmAsTheReadmesTableSays(StepFailure failure, LlmFailureMode mode, bool slmAnswers)
    {
        Assert.Equal(slmAnswers, FailureTable.SlmMayAnswer(failure, mode));
    }

    [Theory]
    [InlineData(StepFailure.SlmUnavailable, FailureStatus.Unavailable)]
    [InlineData(StepFailure.SlmOverloaded, FailureStatus.ResourceExhausted)]
    [InlineData(StepFailure.LlmUnavailable, FailureStatus.Unavailable)]
    [InlineData(StepFailure.LlmRefused, FailureStatus.FailedPrecondition)]
    [InlineData(StepFailure.LlmOverloaded, FailureStatus.ResourceExhausted)]
    public void EachFailureHasOneStatus(StepFailure failure, FailureStatus status)
    {
        Assert.Equal(status, FailureTable.StatusOf(failure));
    }

    [Fact]
    public void StrategyNamesRoundTripInReportOrder()
    {
        Assert.Equal(["slm", "llm", "route", "cascade-abc", "cascade-scorer", "proactive", "reactive"], StrategyNames.Wire);
        foreach (var kind in StrategyNames.All)
        {
            Assert.Equal(kind, StrategyNames.Parse(kind.ToWire().ToUpperInvariant()));
        }

        Assert.False(StrategyNames.TryParse("oracle", out _));
        Assert.Equal(7, StrategyNames.Order("oracle"));
    }
}
