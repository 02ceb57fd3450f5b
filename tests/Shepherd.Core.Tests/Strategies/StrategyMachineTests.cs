using Shepherd.Core.Policy;
using Shepherd.Core.Strategies;

namespace Shepherd.Core.Tests.Strategies;

/// <summary>
/// Every strategy's decisions, and every degrade path, from scripted step results: no sockets, no models.
/// Paths read as "Step(detail) > … > Done(source)".
/// </summary>
public sealed class StrategyMachineTests
{
    [Fact]
    public void SlmAnswersAloneWithOneFinalAnswer()
    {
        var run = Script.Run(StrategyKind.Slm, new Script());

        Assert.Equal("SlmAnswer > Done(Slm)", run.Path);
        Assert.True(run.Steps[0].Final);
    }

    [Theory]
    [InlineData(StepFailure.SlmUnavailable)]
    [InlineData(StepFailure.SlmOverloaded)]
    public void TheSlmStrategyFailsWhenTheSlmFailsAndNeverAsksTheLlm(StepFailure failure)
    {
        var run = Script.Run(StrategyKind.Slm, new Script { Fail = { [StepKind.SlmAnswer] = failure } });

        Assert.Equal($"SlmAnswer > Fail({failure})", run.Path);
    }

    [Fact]
    public void LlmAnswersAlone()
    {
        Assert.Equal("LlmAnswer > Done(Llm)", Script.Run(StrategyKind.Llm, new Script()).Path);
    }

    [Fact]
    public void AFailingLlmDegradesToAFreshSlmAnswer()
    {
        var run = Script.Run(StrategyKind.Llm, new Script { Fail = { [StepKind.LlmAnswer] = StepFailure.LlmUnavailable } });

        Assert.Equal("LlmAnswer > SlmAnswer[LlmDownSlmAnswers] > Done(Slm)", run.Path);
    }

    [Theory]
    [InlineData(StepFailure.LlmUnavailable)]
    [InlineData(StepFailure.LlmRefused)]
    public void AFailingLlmFailsTheAnswerWhenOnFailureIsFail(StepFailure failure)
    {
        var run = Script.Run(StrategyKind.Llm, new Script { Fail = { [StepKind.LlmAnswer] = failure } }, LlmFailureMode.Fail);

        Assert.Equal($"LlmAnswer > Fail({failure})", run.Path);
    }

    [Theory]
    [InlineData(StepFailure.SlmUnavailable, StepFailure.LlmUnavailable, StepFailure.SlmUnavailable)]
    [InlineData(StepFailure.SlmOverloaded, StepFailure.LlmUnavailable, StepFailure.SlmOverloaded)]
    [InlineData(StepFailure.SlmOverloaded, StepFailure.LlmOverloaded, StepFailure.SlmOverloaded)]
    [InlineData(StepFailure.SlmUnavailable, StepFailure.LlmOverloaded, StepFailure.LlmOverloaded)]
    public void WhenNeitherModelAnswersTheSlmsFailureNamesTheStatusUnlessOnlyTheLlmRefusedForLoad(StepFailure slm, StepFailure llm, StepFailure failsWith)
    {
        var run = Script.Run(StrategyKind.CascadeAbc, new Script { Fail = { [StepKind.Sample] = slm, [StepKind.LlmAnswer] = llm } });

        Assert.Equal($"Sample > LlmAnswer[SlmDownLlmAnswers] > Fail({failsWith})", run.Path);
    }

    [Fact]
    public void AnExhaustedBudgetLetsTheSlmAnswerEvenWhenOnFailureIsFail()
    {
        var run = Script.Run(StrategyKind.Llm, new Script { Fail = { [StepKind.LlmAnswer] = StepFailure.BudgetExhausted } }, LlmFailureMode.Fail);

        Assert.Equal("LlmAnswer > SlmAnswer[LlmDownSlmAnswers] > Done(Slm)", run.Path);
    }

    [Theory]
    [InlineData(0.7, 0.5, "Predict(Proactive) > LlmAnswer > Done(Llm)", true)]
    [InlineData(0.5, 0.5, "Predict(Proactive) > LlmAnswer > Done(Llm)", true)]
    [InlineData(0.3, 0.5, "Predict(Proactive) > SlmAnswer > Done(Slm)", false)]
    public void RouteSendsTheQueryToTheLlmWhenPHintReachesAlpha(double pHint, double alpha, string path, bool routed)
    {
        var run = Script.Run(StrategyKind.Route, new Script { Proactive = new StepResult(PHint: pHint, Alpha: alpha) });

        Assert.Equal(path, run.Path);
        Assert.Equal(routed, run.Machine.RoutedToLlm);
    }

    [Theory]
    [InlineData(true, "Predict(Proactive) > Sample[PolicyDownCascade] > Done(Samples)")]
    [InlineData(false, "Predict(Proactive) > Sample[PolicyDownCascade] > LlmAnswer > Done(Llm)")]
    public void RouteWithoutAPolicyRunsTheAgreementCascade(bool consensus, string path)
    {
        var run = Script.Run(StrategyKind.Route, new Script { Consensus = consensus, Fail = { [StepKind.Predict] = StepFailure.PolicyUnavailable } });

        Assert.Equal(path, run.Path);
    }

    [Fact]
    public void CascadeAbcWithConsensusNeverAsksTheLlm()
    {
        Assert.Equal("Sample > Done(Samples)", Script.Run(StrategyKind.CascadeAbc, new Script { Consensus = true }).Path);
    }

    [Fact]
    public void CascadeAbcWithoutConsensusBuysTheLlmsAnswer()
    {
        Assert.Equal("Sample > LlmAnswer > Done(Llm)", Script.Run(StrategyKind.CascadeAbc, new Script()).Path);
    }

    [Fact]
    public void CascadeAbcWithAFailingLlmAnswersWithTheSamplesMajority()
    {
        var run = Script.Run(StrategyKind.CascadeAbc, new Script { Fail = { [StepKind.LlmAnswer] = StepFailure.LlmUnavailable } });

        Assert.Equal("Sample > LlmAnswer > Done(Samples)[LlmDownSlmAnswers]", run.Path);
    }

    [Theory]
    [InlineData(0.2, "SlmAnswer > Predict(Reactive) > Done(Slm)", 0.8)]
    [InlineData(0.7, "SlmAnswer > Predict(Reactive) > LlmAnswer > Done(Llm)", 0.3)]
    public void CascadeScorerEscalatesBelowTheThreshold(double pHint, string path, double confidence)
    {
        var run = Script.Run(StrategyKind.CascadeScorer, new Script { Reactive = new StepResult(PHint: pHint) }, threshold: 0.5);

        Assert.Equal(path, run.Path);
        Assert.False(run.Steps[0].Final);
        Assert.True(Math.Abs(confidence - run.Machine.ScorerConfidence!.Value) < 1e-12);
    }

    [Theory]
    [InlineData(0.1, "SlmAnswer > Predict(Reactive) > Done(Slm)[PolicyDownEntropyScorer]")]
    [InlineData(2.0, "SlmAnswer > Predict(Reactive) > LlmAnswer[PolicyDownEntropyScorer] > Done(Llm)")]
    public void CascadeScorerWithoutAPolicyScoresByEntropy(double entropy, string path)
    {
        var run = Script.Run(StrategyKind.CascadeScorer, new Script { SlmEntropy = entropy, Fail = { [StepKind.Predict] = StepFailure.PolicyUnavailable } }, threshold: 0.5);

        Assert.Equal(path, run.Path);
        Assert.True(Math.Abs(Math.Exp(-entropy) - run.Machine.ScorerConfidence!.Value) < 1e-12);
    }

    [Fact]
    public void CascadeScorerWithAFailingLlmKeepsTheScoredAnswerWithoutAskingTheSlmAgain()
    {
        var run = Script.Run(StrategyKind.CascadeScorer, new Script { Reactive = new StepResult(PHint: 0.9), Fail = { [StepKind.LlmAnswer] = StepFailure.LlmUnavailable } });

        Assert.Equal("SlmAnswer > Predict(Reactive) > LlmAnswer > Done(Slm)[LlmDownSlmAnswers]", run.Path);
    }

    [Fact]
    public void ProactiveBuysExactlyTheDecidedHintThenLetsTheSlmFinish()
    {
        var run = Script.Run(StrategyKind.Proactive, new Script { Proactive = new StepResult(PHint: 0.9, HintTokens: 12) });

        Assert.Equal("Predict(Proactive) > Hint(12) > SlmWithHint > Done(Slm)", run.Path);
        Assert.Equal(12, run.Machine.DecidedHintTokens);
        Assert.False(run.Machine.RoutedToLlm);
    }

    [Fact]
    public void ProactiveCapsTheHintAtMaxHintTokens()
    {
        var run = Script.Run(StrategyKind.Proactive, new Script { Proactive = new StepResult(PHint: 0.9, HintTokens: 12) }, maxHint: 4);

        Assert.Equal("Predict(Proactive) > Hint(4) > SlmWithHint > Done(Slm)", run.Path);
    }

    [Fact]
    public void ProactiveWithNoHintNeededLeavesTheSlmAlone()
    {
        var run = Script.Run(StrategyKind.Proactive, new Script { Proactive = new StepResult(PHint: 0.1, HintTokens: 0) });

        Assert.Equal("Predict(Proactive) > SlmAnswer > Done(Slm)", run.Path);
        Assert.Equal(0, run.Machine.DecidedHintTokens);
    }

    [Fact]
    public void ProactiveAboveEtaRoutesToTheLlm()
    {
        var run = Script.Run(StrategyKind.Proactive, new Script { Proactive = new StepResult(PHint: 0.9, HintTokens: 300, RouteToLlm: true) });

        Assert.Equal("Predict(Proactive) > LlmAnswer > Done(Llm)", run.Path);
        Assert.True(run.Machine.RoutedToLlm);
    }

    [Theory]
    [InlineData(StepFailure.LlmUnavailable, LlmFailureMode.Degrade, "Predict(Proactive) > Hint(12) > SlmAnswer[LlmDownNoHint] > Done(Slm)")]
    [InlineData(StepFailure.LlmRefused, LlmFailureMode.Degrade, "Predict(Proactive) > Hint(12) > SlmAnswer[LlmDownNoHint] > Done(Slm)")]
    [InlineData(StepFailure.BudgetExhausted, LlmFailureMode.Fail, "Predict(Proactive) > Hint(12) > SlmAnswer[LlmDownNoHint] > Done(Slm)")]
    [InlineData(StepFailure.LlmUnavailable, LlmFailureMode.Fail, "Predict(Proactive) > Hint(12) > Fail(LlmUnavailable)")]
    public void AHintTheLlmCannotGiveFollowsTheFailureTable(StepFailure failure, LlmFailureMode mode, string path)
    {
        var run = Script.Run(StrategyKind.Proactive, new Script { Proactive = new StepResult(PHint: 0.9, HintTokens: 12), Fail = { [StepKind.Hint] = failure } }, mode);

        Assert.Equal(path, run.Path);
    }

    [Fact]
    public void ProactiveWithoutAPolicyRunsTheAgreementCascade()
    {
        var run = Script.Run(StrategyKind.Proactive, new Script { Fail = { [StepKind.Predict] = StepFailure.PolicyUnavailable } });

        Assert.Equal("Predict(Proactive) > Sample[PolicyDownCascade] > LlmAnswer > Done(Llm)", run.Path);
    }

    [Fact]
    public void AnSlmThatFailsAfterTheHintIsReplacedByTheLlmsAnswer()
    {
        var run = Script.Run(StrategyKind.Proactive, new Script { Proactive = new StepResult(PHint: 0.9, HintTokens: 12), Fail = { [StepKind.SlmWithHint] = StepFailure.SlmUnavailable } });

        Assert.Equal("Predict(Proactive) > Hint(12) > SlmWithHint > LlmAnswer[SlmDownLlmAnswers] > Done(Llm)", run.Path);
    }

    [Fact]
    public void ReactiveWithConsensusNeverAsksThePolicyOrTheLlm()
    {
        Assert.Equal("Sample > Done(Samples)", Script.Run(StrategyKind.Reactive, new Script { Consensus = true }).Path);
    }

    [Fact]
    public void ReactiveWithoutConsensusAsksThePolicyAndBuysTheHint()
    {
        var run = Script.Run(StrategyKind.Reactive, new Script { Reactive = new StepResult(PHint: 0.9, HintTokens: 7) });

        Assert.Equal("Sample > Predict(Reactive) > Hint(7) > SlmWithHint > Done(Slm)", run.Path);
        Assert.Equal(7, run.Machine.DecidedHintTokens);
    }

    [Fact]
    public void ReactiveWithoutAPolicyBuysTheLlmsAnswerAsTheAgreementCascadeWould()
    {
        var run = Script.Run(StrategyKind.Reactive, new Script { Fail = { [StepKind.Predict] = StepFailure.PolicyUnavailable } });

        Assert.Equal("Sample > Predict(Reactive) > LlmAnswer[PolicyDownNoConsensusLlm] > Done(Llm)", run.Path);
    }

    [Fact]
    public void ReactiveRoutedToAFailingLlmAnswersWithTheSamplesMajority()
    {
        var run = Script.Run(StrategyKind.Reactive, new Script { Reactive = new StepResult(PHint: 0.9, HintTokens: 500, RouteToLlm: true), Fail = { [StepKind.LlmAnswer] = StepFailure.LlmUnavailable } });

        Assert.Equal("Sample > Predict(Reactive) > LlmAnswer > Done(Samples)[LlmDownSlmAnswers]", run.Path);
    }

    [Fact]
    public void ADownSlmSendsEveryOtherStrategyToTheLlm()
    {
        var run = Script.Run(StrategyKind.Reactive, new Script { Fail = { [StepKind.Sample] = StepFailure.SlmUnavailable } });

        Assert.Equal("Sample > LlmAnswer[SlmDownLlmAnswers] > Done(Llm)", run.Path);
    }

    [Theory]
    [InlineData(StepFailure.SlmUnavailable)]
    [InlineData(StepFailure.SlmOverloaded)]
    public void WhenNeitherModelAnswersTheSlmsFailureIsTheAnswers(StepFailure failure)
    {
        var run = Script.Run(StrategyKind.CascadeAbc, new Script { Fail = { [StepKind.Sample] = failure, [StepKind.LlmAnswer] = StepFailure.LlmUnavailable } });

        Assert.Equal($"Sample > LlmAnswer[SlmDownLlmAnswers] > Fail({failure})", run.Path);
    }

    [Fact]
    public void AnSlmFailingAfterTheLlmFailedEndsTheAnswerInsteadOfAskingTheLlmAgain()
    {
        var run = Script.Run(StrategyKind.Llm, new Script { Fail = { [StepKind.LlmAnswer] = StepFailure.LlmUnavailable, [StepKind.SlmAnswer] = StepFailure.SlmUnavailable } });

        Assert.Equal("LlmAnswer > SlmAnswer[LlmDownSlmAnswers] > Fail(SlmUnavailable)", run.Path);
    }

    /// <summary>Scripted step results; a step kind listed in <see cref="Fail"/> fails with that failure.</summary>
    private sealed class Script
    {
        public bool Consensus { get; init; }
        public double SlmEntropy { get; init; }
        public double SlmLength { get; init; }
        public StepResult Proactive { get; init; } = new(PHint: 0.1, Alpha: 0.5);
        public StepResult Reactive { get; init; } = new(PHint: 0.1, Alpha: 0.5);
        public Dictionary<StepKind, StepFailure> Fail { get; } = [];

        public static (string Path, IReadOnlyList<StrategyStep> Steps, StrategyMachine Machine) Run(
            StrategyKind kind, Script script, LlmFailureMode mode = LlmFailureMode.Degrade, double threshold = 0.5, int maxHint = 4096)
        {
            var machine = new StrategyMachine(kind, new StrategySettings(threshold, 1.0, maxHint, mode));
            var steps = new List<StrategyStep>();
            for (var step = machine.Start(); ; step = machine.Next(script.Result(step)))
            {
                steps.Add(step);
                Assert.True(steps.Count < 10, "the machine does not end");
                if (step.IsFinal())
                {
                    break;
                }
            }

            return (string.Join(" > ", steps.Select(Describe)), steps, machine);
        }

        private StepResult Result(StrategyStep step) => Fail.TryGetValue(step.Kind, out var failure) ? StepResult.FailedWith(failure) : step.Kind switch
        {
            StepKind.Sample => new StepResult(Consensus: Consensus),
            StepKind.Predict => step.Mode == PolicyMode.Proactive ? Proactive : Reactive,
            StepKind.SlmAnswer => new StepResult(MeanEntropy: SlmEntropy, MeanOutputLength: SlmLength),
            _ => StepResult.Ok,
        };

        private static string Describe(StrategyStep step)
        {
            var text = step.Kind switch
            {
                StepKind.Predict => $"Predict({step.Mode})",
                StepKind.Hint => $"Hint({step.HintTokens})",
                StepKind.Done => $"Done({step.Answer})",
                StepKind.Fail => $"Fail({step.Failure})",
                _ => step.Kind.ToString(),
            };
            return step.Degradation == Degradation.None ? text : $"{text}[{step.Degradation}]";
        }
    }
}
