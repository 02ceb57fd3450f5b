namespace Shepherd.Llm;

/// <summary>
/// The caller's remaining budget cannot cover the call's worst case: nothing was sent and nothing paid. Not an
/// outage: the SLM answers whatever Llm:OnFailure says (README, "Failures").
/// </summary>
public sealed class LlmBudgetExhaustedException(string reason) : Exception(reason);

/// <summary>
/// The LLM refused the request itself (a 4xx other than 429 and 498: the key, the model, the parameters):
/// retrying will not help. Llm:OnFailure = fail answers FAILED_PRECONDITION; degrade lets the SLM answer.
/// </summary>
public sealed class LlmRefusedException(string reason, Exception? inner = null) : Exception(reason, inner);
