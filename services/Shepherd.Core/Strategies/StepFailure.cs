namespace Shepherd.Core.Strategies;

/// <summary>Why a step failed, as a type: each is mapped once, by <see cref="FailureTable"/>.</summary>
public enum StepFailure : byte
{
    None,

    /// <summary>The slm-service is down, timed out or failed.</summary>
    SlmUnavailable,

    /// <summary>The slm-service refused the request for load (RESOURCE_EXHAUSTED).</summary>
    SlmOverloaded,

    /// <summary>No policy-service, or it failed.</summary>
    PolicyUnavailable,

    /// <summary>The LLM is down, rate-limited beyond patience or over capacity.</summary>
    LlmUnavailable,

    /// <summary>The LLM refused the request itself (a 4xx other than 429/498: key, model, parameters).</summary>
    LlmRefused,

    /// <summary>The caller's budget cannot cover the call's worst case; nothing was paid.</summary>
    BudgetExhausted,

    /// <summary>The LLM refused the request for load (RESOURCE_EXHAUSTED from the stand-in slm-service).</summary>
    LlmOverloaded,
}

/// <summary>Llm:OnFailure: what a failing LLM does to an answer.</summary>
public enum LlmFailureMode
{
    /// <summary>The SLM answers, flagged degraded.</summary>
    Degrade,

    /// <summary>The answer fails (UNAVAILABLE, or FAILED_PRECONDITION for a refusal).</summary>
    Fail,
}

/// <summary>The status an answer fails with.</summary>
public enum FailureStatus
{
    Unavailable,
    ResourceExhausted,
    FailedPrecondition,
}

/// <summary>
/// README's failure table, once, for both Llm:OnFailure modes:
/// <list type="table">
/// <item>LLM unavailable — degrade: the SLM answers (degraded); fail: UNAVAILABLE.</item>
/// <item>LLM overloaded — degrade: the SLM answers (degraded) unless it is the service that refused; fail:
/// RESOURCE_EXHAUSTED with retry advice.</item>
/// <item>LLM refused — degrade: the SLM answers (degraded); fail: FAILED_PRECONDITION (retrying will not help).</item>
/// <item>budget too small — either mode: no paid call, the SLM answers (degraded); it is the caller's limit, not an outage.</item>
/// <item>policy-service — either mode: the agreement cascade (degraded).</item>
/// <item>slm-service unavailable / overloaded — either mode: the LLM answers (degraded); strategy slm, or no LLM
/// either: UNAVAILABLE / RESOURCE_EXHAUSTED (an overload anywhere on the way makes it RESOURCE_EXHAUSTED).</item>
/// </list>
/// </summary>
public static class FailureTable
{
    /// <summary>Whether an LLM failure lets the SLM answer instead (else the answer fails).</summary>
    public static bool SlmMayAnswer(StepFailure failure, LlmFailureMode mode) => failure switch
    {
        StepFailure.BudgetExhausted => true,
        StepFailure.LlmUnavailable or StepFailure.LlmRefused or StepFailure.LlmOverloaded => mode == LlmFailureMode.Degrade,
        _ => true,
    };

    /// <summary>The status an answer fails with when <paramref name="failure"/> is what it could not get past.</summary>
    public static FailureStatus StatusOf(StepFailure failure) => failure switch
    {
        StepFailure.SlmOverloaded or StepFailure.LlmOverloaded => FailureStatus.ResourceExhausted,
        StepFailure.LlmRefused => FailureStatus.FailedPrecondition,
        _ => FailureStatus.Unavailable,
    };

    /// <summary>The dependency a failure names, for messages.</summary>
    public static string Dependency(StepFailure failure) => failure switch
    {
        StepFailure.SlmUnavailable or StepFailure.SlmOverloaded => "slm",
        StepFailure.PolicyUnavailable => "policy",
        StepFailure.BudgetExhausted => "budget",
        _ => "llm",
    };

    /// <summary>A service refused for load: it must not be asked again for this request, and the answer carries retry advice.</summary>
    public static bool IsOverload(StepFailure failure) => failure is StepFailure.SlmOverloaded or StepFailure.LlmOverloaded;

    public static LlmFailureMode ParseMode(string text) =>
        string.Equals(text, "fail", StringComparison.OrdinalIgnoreCase) ? LlmFailureMode.Fail : LlmFailureMode.Degrade;
}
