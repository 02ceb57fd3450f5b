using Shepherd.Core.Policy;

namespace Shepherd.Core.Strategies;

/// <summary>
/// A strategy as a pure decision machine: it asks for steps (<see cref="StrategyStep"/>) and decides from their
/// results (<see cref="StepResult"/>); it knows no gRPC, HTTP or clock. Two executors run it: live (the
/// orchestrator, through its gateways) and replay (label records). A mutable struct so replay allocates nothing:
/// <code>var m = new StrategyMachine(kind, settings); for (var s = m.Start(); !s.IsFinal(); s = m.Next(Run(s))) { }</code>
/// The decisions per strategy (README, "The public API"):
/// <list type="bullet">
/// <item>slm: one SLM answer. llm: the LLM's full answer.</item>
/// <item>route: the proactive P(hint) ≥ α buys the LLM's full answer, else the SLM answers.</item>
/// <item>cascade-abc: K samples; k agreeing return the consensus, else the LLM's full answer.</item>
/// <item>cascade-scorer: one SLM answer scored 1 − P(hint) by the reactive policy (exp(−entropy / scale) without
/// one); below the threshold the LLM's full answer.</item>
/// <item>proactive: the policy's n: 0 → the SLM alone; ≤ η → an n-token hint, then the SLM; &gt; η → the LLM.</item>
/// <item>reactive: K samples; consensus returns, else the reactive policy decides as proactive does.</item>
/// </list>
/// And the fallbacks (<see cref="FailureTable"/>): the SLM failing → the LLM's full answer (strategy slm fails);
/// the policy failing → the agreement cascade (cascade-scorer: the entropy scorer); the LLM failing → the SLM
/// (the samples' majority, the scored answer, or a fresh answer) unless Llm:OnFailure = fail says the answer fails.
/// </summary>
public struct StrategyMachine(StrategyKind kind, StrategySettings settings)
{
    private StepKind _asked;
    private bool _hasSamples;
    private bool _hasAnswer;
    private bool _llmFailed;
    private StepFailure _slmFailure;
    private double _scoredEntropy;

    public readonly StrategyKind Kind => kind;

    /// <summary>route / proactive / reactive: whether the decision sent the query to the LLM's full answer.</summary>
    public bool? RoutedToLlm { get; private set; }

    /// <summary>proactive / reactive: n after the policy (capped by <see cref="StrategySettings.MaxHintTokens"/>).</summary>
    public int? DecidedHintTokens { get; private set; }

    /// <summary>cascade-scorer: the confidence the answer was scored with.</summary>
    public double? ScorerConfidence { get; private set; }

    public StrategyStep Start() => Ask(kind switch
    {
        StrategyKind.Slm => new(StepKind.SlmAnswer),
        StrategyKind.Llm => new(StepKind.LlmAnswer),
        StrategyKind.Route or StrategyKind.Proactive => StrategyStep.Predict(PolicyMode.Proactive),
        StrategyKind.CascadeAbc or StrategyKind.Reactive => StrategyStep.Sample,
        StrategyKind.CascadeScorer => new(StepKind.SlmAnswer, Final: false),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown strategy."),
    });

    /// <summary>The next step, given the result of the one asked last.</summary>
    public StrategyStep Next(in StepResult result)
    {
        if (result.Failed)
        {
            return Ask(AfterFailure(result));
        }

        switch (_asked)
        {
            case StepKind.Sample:
                _hasSamples = true;
                if (result.Consensus)
                {
                    return Ask(StrategyStep.DoneWith(AnswerSource.Samples));
                }

                // Reactive asks its policy unless the policy already failed (then it runs as the agreement cascade).
                return Ask(kind == StrategyKind.Reactive
                    ? StrategyStep.Predict(PolicyMode.Reactive, result.MeanEntropy, result.MeanOutputLength)
                    : new(StepKind.LlmAnswer));
            case StepKind.Predict:
                return Ask(AfterPrediction(result));
            case StepKind.Hint:
                return Ask(new(StepKind.SlmWithHint));
            case StepKind.LlmAnswer:
                return Ask(StrategyStep.DoneWith(AnswerSource.Llm));
            case StepKind.SlmAnswer when kind == StrategyKind.CascadeScorer && !_hasAnswer:
                _hasAnswer = true;
                return Ask(StrategyStep.Predict(PolicyMode.Reactive, result.MeanEntropy, result.MeanOutputLength));
            case StepKind.SlmAnswer:
            case StepKind.SlmWithHint:
                return Ask(StrategyStep.DoneWith(AnswerSource.Slm));
            default:
                throw new InvalidOperationException($"{kind.ToWire()}: no step is pending after {_asked}.");
        }
    }

    private StrategyStep AfterPrediction(in StepResult prediction)
    {
        switch (kind)
        {
            case StrategyKind.Route:
                var toLlm = prediction.PHint >= prediction.Alpha;
                RoutedToLlm = toLlm;
                return toLlm ? new(StepKind.LlmAnswer) : new(StepKind.SlmAnswer);
            case StrategyKind.CascadeScorer:
                return Score(1 - prediction.PHint);
            default:
                var n = Math.Min(prediction.HintTokens, settings.MaxHintTokens);
                DecidedHintTokens = n;
                RoutedToLlm = prediction.RouteToLlm;
                return prediction.RouteToLlm ? new(StepKind.LlmAnswer)
                    : n == 0 ? new(StepKind.SlmAnswer)
                    : new(StepKind.Hint, HintTokens: n);
        }
    }

    private StrategyStep Score(double confidence)
    {
        ScorerConfidence = confidence;
        return confidence >= settings.ScorerThreshold ? StrategyStep.DoneWith(AnswerSource.Slm) : new(StepKind.LlmAnswer);
    }

    private StrategyStep AfterFailure(in StepResult result)
    {
        var failure = result.Failure;
        switch (_asked)
        {
            case StepKind.Sample or StepKind.SlmAnswer or StepKind.SlmWithHint:
                if (kind == StrategyKind.Slm || _llmFailed)
                {
                    return StrategyStep.FailWith(failure);
                }

                _slmFailure = failure;
                return new StrategyStep(StepKind.LlmAnswer).Because(Degradation.SlmDownLlmAnswers);
            case StepKind.Predict:
                return kind switch
                {
                    StrategyKind.Reactive => new StrategyStep(StepKind.LlmAnswer).Because(Degradation.PolicyDownNoConsensusLlm),
                    StrategyKind.CascadeScorer => Score(Math.Exp(-_scoredEntropy / settings.EntropyScale)).Because(Degradation.PolicyDownEntropyScorer),
                    _ => StrategyStep.Sample.Because(Degradation.PolicyDownCascade),
                };
            case StepKind.LlmAnswer:
                if (_slmFailure != StepFailure.None)
                {
                    return StrategyStep.FailWith(_slmFailure);
                }

                if (!FailureTable.SlmMayAnswer(failure, settings.OnFailure))
                {
                    return StrategyStep.FailWith(failure);
                }

                _llmFailed = true;
                return (_hasSamples ? StrategyStep.DoneWith(AnswerSource.Samples)
                    : _hasAnswer ? StrategyStep.DoneWith(AnswerSource.Slm)
                    : new StrategyStep(StepKind.SlmAnswer)).Because(Degradation.LlmDownSlmAnswers);
            case StepKind.Hint:
                if (!FailureTable.SlmMayAnswer(failure, settings.OnFailure))
                {
                    return StrategyStep.FailWith(failure);
                }

                _llmFailed = true;
                return new StrategyStep(StepKind.SlmAnswer).Because(Degradation.LlmDownNoHint);
            default:
                throw new InvalidOperationException($"{kind.ToWire()}: no step is pending after {_asked}.");
        }
    }

    private StrategyStep Ask(StrategyStep step)
    {
        if (step.Kind == StepKind.Predict && kind == StrategyKind.CascadeScorer)
        {
            _scoredEntropy = step.MeanEntropy;
        }

        _asked = step.Kind;
        return step;
    }
}

public static class StrategySteps
{
    /// <summary>Done or Fail: the machine asks for nothing more.</summary>
    public static bool IsFinal(this in StrategyStep step) => step.Kind is StepKind.Done or StepKind.Fail;
}
