namespace Shepherd.Llm;

public sealed record LlmMessage(string Role, string Content);

/// <summary>A chat completion at temperature 0; MaxTokens is the hint size n, or the answer budget.</summary>
/// <param name="Deadline">The caller's deadline (UTC); a call gets the earlier of it and its own per-call cap.</param>
public sealed record LlmRequest(IReadOnlyList<LlmMessage> Messages, int MaxTokens, DateTime? Deadline = null);

/// <summary>What the LLM answered and what it billed.</summary>
/// <param name="Complete">The answer ended on its own (finish_reason "stop"), not at max tokens.</param>
/// <param name="Attempts">HTTP attempts made (1 without retries); cached answers report 0.</param>
public sealed record LlmCompletion(
    string Text,
    string Model,
    long PromptTokens,
    long CompletionTokens,
    bool Complete,
    bool StandIn,
    bool Cached,
    int Attempts);

/// <summary>
/// The LLM cannot answer now (down, rate-limited beyond patience, out of capacity, misconfigured). Its message may
/// reach a client: it never holds upstream text.
/// </summary>
public sealed class LlmUnavailableException(string reason, Exception? inner = null) : Exception(reason, inner)
{
    /// <summary>The service refused the call for load (RESOURCE_EXHAUSTED): asking it again now only adds load.</summary>
    public bool Overloaded { get; init; }

    /// <summary>How long the refusing service asked callers to wait, when it said.</summary>
    public TimeSpan? RetryAfter { get; init; }
}

public interface ILlmClient
{
    /// <summary>The model name used for pricing and the ledger.</summary>
    string Model { get; }

    /// <summary>True for the local llama.cpp stand-in used when no key is configured.</summary>
    bool IsStandIn { get; }

    /// <summary>
    /// Who writes the answers: the endpoint's base URL, or "stand-in:" and the address of the slm-service playing the
    /// LLM. Part of the hint cache key, so one source's answers are never served as another's.
    /// </summary>
    string Source { get; }

    /// <summary>
    /// The service that answers, normalised (<see cref="LlmSources.Normalize"/>): the endpoint's base URL, or the
    /// address of the slm-service playing the LLM, whatever <see cref="Source"/> calls it.
    /// </summary>
    string Endpoint { get; }

    Task<LlmCompletion> CompleteAsync(LlmRequest request, CancellationToken cancellationToken);
}
