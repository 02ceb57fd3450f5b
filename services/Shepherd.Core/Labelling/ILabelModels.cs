using Shepherd.Core.Tasks;

namespace Shepherd.Core.Labelling;

/// <summary>An LLM answer as billed: its text and token counts; Cached answers cost nothing.</summary>
public sealed record LabelLlmAnswer(string Text, long PromptTokens, long CompletionTokens, bool Cached, double Usd);

public sealed record LabelSlmCompletion(string Text, int Tokens, double MeanEntropy);

public sealed record LabelSlmResult(IReadOnlyList<LabelSlmCompletion> Completions, int PromptTokens);

/// <summary>
/// What labelling needs of the models, so the ladder logic stays free of sockets: the CLI implements it with the
/// paid-LLM path (hint cache + ledger) and the slm-service.
/// </summary>
public interface ILabelModels
{
    /// <summary>The LLM at temperature 0 with max_completion_tokens = <paramref name="maxTokens"/>.</summary>
    Task<LabelLlmAnswer> LlmAsync(IReadOnlyList<ChatMessage> messages, int maxTokens, CancellationToken cancellationToken);

    /// <summary>The most <see cref="LlmAsync"/> may cost, checked against the budget before it is called.</summary>
    double WorstCaseUsd(IReadOnlyList<ChatMessage> messages, int maxTokens);

    /// <summary>The first n tokens of an LLM answer, cut with the LLM's tokenizer (or one it shares).</summary>
    Task<string> LlmPrefixAsync(string answer, int tokens, CancellationToken cancellationToken);

    /// <summary>How many tokens the cutting tokenizer of <see cref="LlmPrefixAsync"/> finds in an answer.</summary>
    Task<int> LlmTokenCountAsync(string answer, CancellationToken cancellationToken);

    /// <summary>n SLM samples of the messages at the temperature, seeded (sample i uses seed + i).</summary>
    Task<LabelSlmResult> SlmAsync(IReadOnlyList<ChatMessage> messages, int n, double temperature, ulong seed, CancellationToken cancellationToken);
}
