namespace Shepherd.Llm;

public sealed record LlmMessage(string Role, string Content);

/// <summary>A chat completion at temperature 0; MaxTokens is the hint size n, or the answer budget.</summary>
public sealed record LlmRequest(IReadOnlyList<LlmMessage> Messages, int MaxTokens);

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

/// <summary>The LLM cannot answer now (down, rate-limited beyond patience, out of capacity, misconfigured).</summary>
public sealed class LlmUnavailableException(string reason, Exception? inner = null) : Exception(reason, inner);

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

    Task<LlmCompletion> CompleteAsync(LlmRequest request, CancellationToken cancellationToken);
}
