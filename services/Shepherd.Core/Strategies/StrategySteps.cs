using Shepherd.Core.Policy;

namespace Shepherd.Core.Strategies;

/// <summary>What a strategy asks its executor to do next.</summary>
public enum StepKind : byte
{
    /// <summary>K SLM samples of the query in one batched call, voted on (k agreeing).</summary>
    Sample,

    /// <summary>The policy's prediction in <see cref="StrategyStep.Mode"/>, with the SLM features given.</summary>
    Predict,

    /// <summary>Buy the first <see cref="StrategyStep.HintTokens"/> tokens of the LLM's answer.</summary>
    Hint,

    /// <summary>Buy the LLM's full answer.</summary>
    LlmAnswer,

    /// <summary>One SLM answer without a hint (<see cref="StrategyStep.Final"/>: it is the answer unless a later step says otherwise).</summary>
    SlmAnswer,

    /// <summary>One SLM answer continuing from the hint bought.</summary>
    SlmWithHint,

    /// <summary>Answer with <see cref="StrategyStep.Answer"/>.</summary>
    Done,

    /// <summary>No answer: <see cref="StrategyStep.Failure"/> is the failure the answer could not get past.</summary>
    Fail,
}

/// <summary>Which step's text is the answer.</summary>
public enum AnswerSource : byte
{
    None,

    /// <summary>The samples: the consensus (or, when the LLM failed, the majority) sample.</summary>
    Samples,

    /// <summary>The last SLM answer (hinted when a hint was bought).</summary>
    Slm,

    /// <summary>The LLM's full answer.</summary>
    Llm,
}

/// <summary>Why a step is taken instead of the planned one; the recorder turns it into the degradation text.</summary>
public enum Degradation : byte
{
    None,

    /// <summary>The SLM failed; the LLM's full answer instead.</summary>
    SlmDownLlmAnswers,

    /// <summary>The LLM failed; the SLM answers (its samples' majority, or a fresh answer).</summary>
    LlmDownSlmAnswers,

    /// <summary>The LLM failed to give the hint; the SLM answers alone.</summary>
    LlmDownNoHint,

    /// <summary>The proactive policy failed; the agreement cascade instead.</summary>
    PolicyDownCascade,

    /// <summary>The reactive policy failed after samples without consensus; the LLM answers (agreement cascade).</summary>
    PolicyDownNoConsensusLlm,

    /// <summary>The reactive policy failed as a scorer; the SLM's entropy scores the answer.</summary>
    PolicyDownEntropyScorer,
}

/// <summary>
/// One step a strategy asks for. A value of 12 bytes (it travels in registers: replay runs millions a second):
/// the executor runs it and hands back a <see cref="StepResult"/>. A reactive prediction's features are those of
/// the SLM result the strategy saw last (its samples, or the answer it scores).
/// </summary>
public readonly struct StrategyStep
{
    private readonly byte _kind;
    private readonly byte _mode;
    private readonly byte _answer;
    private readonly byte _degradation;
    private readonly byte _failure;
    private readonly bool _notFinal;

    private StrategyStep(StepKind kind, PolicyMode mode = PolicyMode.Proactive, int hintTokens = 0, bool final = true,
        AnswerSource answer = AnswerSource.None, Degradation degradation = Degradation.None, StepFailure failure = StepFailure.None)
    {
        _kind = (byte)kind;
        _mode = (byte)mode;
        HintTokens = hintTokens;
        _notFinal = !final;
        _answer = (byte)answer;
        _degradation = (byte)degradation;
        _failure = (byte)failure;
    }

    public StepKind Kind => (StepKind)_kind;

    /// <summary>Predict: which policy.</summary>
    public PolicyMode Mode => (PolicyMode)_mode;

    /// <summary>Hint: n, the LLM tokens to buy.</summary>
    public int HintTokens { get; }

    /// <summary>SlmAnswer: the answer is the final text unless a later step says otherwise (streamed live); false for the answer cascade-scorer rates.</summary>
    public bool Final => !_notFinal;

    /// <summary>Done: which step's text is the answer.</summary>
    public AnswerSource Answer => (AnswerSource)_answer;

    /// <summary>Set on the step taken because the previous one failed (the failure is the previous result's).</summary>
    public Degradation Degradation => (Degradation)_degradation;

    /// <summary>Fail: the failure the answer could not get past.</summary>
    public StepFailure Failure => (StepFailure)_failure;

    public static StrategyStep Sample => new(StepKind.Sample);

    public static StrategyStep LlmAnswer => new(StepKind.LlmAnswer);

    public static StrategyStep SlmWithHint => new(StepKind.SlmWithHint);

    public static StrategyStep SlmAnswer(bool final = true) => new(StepKind.SlmAnswer, final: final);

    public static StrategyStep Predict(PolicyMode mode) => new(StepKind.Predict, mode);

    public static StrategyStep Hint(int tokens) => new(StepKind.Hint, hintTokens: tokens);

    public static StrategyStep DoneWith(AnswerSource answer) => new(StepKind.Done, answer: answer);

    public static StrategyStep FailWith(StepFailure failure) => new(StepKind.Fail, failure: failure);

    public StrategyStep Because(Degradation degradation) => new(Kind, Mode, HintTokens, Final, Answer, degradation, Failure);

    public override string ToString() => $"{Kind} {Mode} n={HintTokens} final={Final} answer={Answer} degradation={Degradation} failure={Failure}";
}

/// <summary>
/// What a step gave, as far as a decision needs it (texts, usage and latencies stay with the executor). A failed
/// step carries only <see cref="Failure"/>.
/// </summary>
/// <param name="Consensus">Sample: k of the K samples agreed.</param>
/// <param name="MeanEntropy">Sample / SlmAnswer: mean per-token entropy of the answers (the reactive feature).</param>
/// <param name="MeanOutputLength">Sample / SlmAnswer: mean generated tokens.</param>
/// <param name="PHint">Predict: P(hint).</param>
/// <param name="Alpha">Predict: the α the decision used.</param>
/// <param name="HintTokens">Predict: n under the decision rule (0 below α).</param>
/// <param name="RouteToLlm">Predict: n &gt; η.</param>
public readonly record struct StepResult(
    StepFailure Failure = StepFailure.None,
    bool Consensus = false,
    double MeanEntropy = 0,
    double MeanOutputLength = 0,
    double PHint = 0,
    double Alpha = 0,
    int HintTokens = 0,
    bool RouteToLlm = false)
{
    public bool Failed => Failure != StepFailure.None;

    public static StepResult Ok => default;

    public static StepResult FailedWith(StepFailure failure) => new(failure);
}

/// <summary>The knobs a strategy's decisions read besides step results.</summary>
/// <param name="ScorerThreshold">cascade-scorer: escalate below this confidence.</param>
/// <param name="EntropyScale">cascade-scorer without a policy: confidence = exp(−entropy / scale).</param>
/// <param name="MaxHintTokens">The largest hint bought, whatever the policy says.</param>
public readonly record struct StrategySettings(double ScorerThreshold, double EntropyScale, int MaxHintTokens, LlmFailureMode OnFailure);
