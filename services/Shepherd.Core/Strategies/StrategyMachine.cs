using System.Runtime.CompilerServices;
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
    private sbyte _routed;
    private int _decided = -1;
    private double _confidence = double.NaN;

    public readonly StrategyKind Kind => kind;

    /// <summary>route / proactive / reactive: whether the decision sent the query to the LLM's full answer.</summary>
    public readonly bool? RoutedToLlm => _routed == 0 ? null : _routed > 0;

    /// <summary>proactive / reactive: n after the policy (capped by <see cref="StrategySettings.MaxHintTokens"/>).</summary>
    public readonly int? DecidedHintTokens => _decided < 0 ? null : _decided;

    /// <summary>cascade-scorer: the confidence the answer was scored with.</summary>
    public readonly double? ScorerConfidence => double.IsNaN(_confidence) ? null : _confidence;

    /// <summary>cascade-scorer without a policy: the answer's confidence from its mean entropy.</summary>
    public static double EntropyConfidence(double meanEntropy, double scale) => Math.Exp(-meanEntropy / scale);

    /// <summary>cascade-scorer keeps the SLM's answer at a confidence of at least the threshold.</summary>
    public static bool Accepts(double confidence, double threshold) => confidence >= threshold;

    public StrategyStep Start() => Ask(kind switch
    {
        StrategyKind.Slm => StrategyStep.SlmAnswer(),
        StrategyKind.Llm => StrategyStep.LlmAnswer,
        StrategyKind.Route or StrategyKind.Proactive => StrategyStep.Predict(PolicyMode.Proactive),
        StrategyKind.CascadeAbc or StrategyKind.Reactive => StrategyStep.Sample,
        StrategyKind.CascadeScorer => StrategyStep.SlmAnswer(final: false),
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
                return Ask(kind == StrategyKind.Reactive ? StrategyStep.Predict(PolicyMode.Reactive) : StrategyStep.LlmAnswer);
            case StepKind.Predict:
                return Ask(AfterPrediction(result));
            case StepKind.Hint:
                return Ask(StrategyStep.SlmWithHint);
            case StepKind.LlmAnswer:
                return Ask(StrategyStep.DoneWith(AnswerSource.Llm));
            case StepKind.SlmAnswer when kind == StrategyKind.CascadeScorer && !_hasAnswer:
                _hasAnswer = true;
                _scoredEntropy = result.MeanEntropy;
                return Ask(StrategyStep.Predict(PolicyMode.Reactive));
            case StepKind.SlmAnswer:
            case StepKind.SlmWithHint:
                return Ask(StrategyStep.DoneWith(AnswerSource.Slm));
            default:
                return NothingPending();
        }
    }

    private StrategyStep AfterPrediction(in StepResult prediction)
    {
        switch (kind)
        {
            case StrategyKind.Route:
                var toLlm = prediction.PHint >= prediction.Alpha;
                _routed = toLlm ? (sbyte)1 : (sbyte)-1;
                return toLlm ? StrategyStep.LlmAnswer : StrategyStep.SlmAnswer();
            case StrategyKind.CascadeScorer:
                return Score(1 - prediction.PHint);
            default:
                var n = Math.Min(prediction.HintTokens, settings.MaxHintTokens);
                _decided = n;
                _routed = prediction.RouteToLlm ? (sbyte)1 : (sbyte)-1;
                return prediction.RouteToLlm ? StrategyStep.LlmAnswer
                    : n == 0 ? StrategyStep.SlmAnswer()
                    : StrategyStep.Hint(n);
        }
    }

    private StrategyStep Score(double confidence)
    {
        _confidence = confidence;
        return Accepts(confidence, settings.ScorerThreshold) ? StrategyStep.DoneWith(AnswerSource.Slm) : StrategyStep.LlmAnswer;
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
                return StrategyStep.LlmAnswer.Because(Degradation.SlmDownLlmAnswers);
            case StepKind.Predict:
                return kind switch
                {
                    StrategyKind.Reactive => StrategyStep.LlmAnswer.Because(Degradation.PolicyDownNoConsensusLlm),
                    StrategyKind.CascadeScorer => Score(EntropyConfidence(_scoredEntropy, settings.EntropyScale)).Because(Degradation.PolicyDownEntropyScorer),
                    _ => StrategyStep.Sample.Because(Degradation.PolicyDownCascade),
                };
            case StepKind.LlmAnswer:
                if (_slmFailure != StepFailure.None)
                {
                    // Neither model answers: the SLM's failure names the status, unless the LLM refused for load.
                    return StrategyStep.FailWith(FailureTable.IsOverload(failure) && !FailureTable.IsOverload(_slmFailure) ? failure : _slmFailure);
                }

                if (!FailureTable.SlmMayAnswer(failure, settings.OnFailure))
                {
                    return StrategyStep.FailWith(failure);
                }

                _llmFailed = true;
                return (_hasSamples ? StrategyStep.DoneWith(AnswerSource.Samples)
                    : _hasAnswer ? StrategyStep.DoneWith(AnswerSource.Slm)
                    : StrategyStep.SlmAnswer()).Because(Degradation.LlmDownSlmAnswers);
            case StepKind.Hint:
                if (!FailureTable.SlmMayAnswer(failure, settings.OnFailure))
                {
                    return StrategyStep.FailWith(failure);
                }

                _llmFailed = true;
                return StrategyStep.SlmAnswer().Because(Degradation.LlmDownNoHint);
            default:
                return NothingPending();
        }
    }

    private readonly StrategyStep NothingPending() => throw new InvalidOperationException($"{kind.ToWire()}: no step is pending after {_asked}.");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private StrategyStep Ask(StrategyStep step)
    {
        _asked = step.Kind;
        return step;
    }
}

public static class StrategySteps
{
    /// <summary>Done or Fail: the machine asks for nothing more.</summary>
    public static bool IsFinal(this in StrategyStep step) => step.Kind is StepKind.Done or StepKind.Fail;
}
