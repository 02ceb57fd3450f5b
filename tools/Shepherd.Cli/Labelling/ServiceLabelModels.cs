using Shepherd.Contracts.V1;
using Shepherd.Core.Labelling;
using Shepherd.Llm;
using Shepherd.Llm.Storage;
using CoreChatMessage = Shepherd.Core.Tasks.ChatMessage;

namespace Shepherd.Cli.Labelling;

/// <summary>
/// Labelling's models: the LLM through <see cref="PaidLlm"/> (the hint cache, so a resumed run pays nothing twice;
/// each call's row is committed to the ledger before its answer is used) and the SLM through the slm-service. No
/// cached answer is cut to a shorter one here: the prefix ladder cuts through <see cref="LlmPrefixAsync"/> after its
/// check, and a level call (the calls ladder, or a record whose check failed) is a call of its own, as in the paper.
/// </summary>
public sealed class ServiceLabelModels(PaidLlm llm, ILedger ledger, TokenCutter llmTokenizer, SlmService.SlmServiceClient slm, int slmMaxTokens) : ILabelModels
{
    private static readonly LedgerTag Tag = new("label", "label", "label");

    public async Task<LabelLlmAnswer> LlmAsync(IReadOnlyList<CoreChatMessage> messages, int maxTokens, CancellationToken cancellationToken)
    {
        var tag = Tag with { RequestId = "label/" + PaidLlm.PromptHash(llm.Model, messages)[..16] + "/" + maxTokens };
        var charge = await llm.CompleteAsync(messages, maxTokens, remainingBudgetUsd: null, allowCut: false, cancellationToken);
        await ledger.RecordAsync(charge.ToLedgerEntry(DateTimeOffset.UtcNow, tag), CancellationToken.None);
        var completion = charge.Completion;
        return new LabelLlmAnswer(completion.Text, completion.PromptTokens, completion.CompletionTokens, completion.Cached, charge.Cost.TotalUsd);
    }

    public double WorstCaseUsd(IReadOnlyList<CoreChatMessage> messages, int maxTokens) => llm.WorstCaseUsd(messages, maxTokens);

    public Task<string> LlmPrefixAsync(string answer, int tokens, CancellationToken cancellationToken) =>
        llmTokenizer.FirstTokensAsync(answer, tokens, cancellationToken);

    public async Task<int> LlmTokenCountAsync(string answer, CancellationToken cancellationToken) =>
        (await llmTokenizer.TokenizeAsync(answer, cancellationToken)).Count;

    public async Task<LabelSlmResult> SlmAsync(IReadOnlyList<CoreChatMessage> messages, int n, double temperature, ulong seed, CancellationToken cancellationToken)
    {
        var request = new GenerateRequest { N = n, Temperature = (float)temperature, TopP = 0.95f, Seed = seed, MaxTokens = slmMaxTokens };
        request.Messages.AddRange(messages.Select(m => new ChatMessage { Role = m.Role, Content = m.Content }));
        var response = await slm.GenerateAsync(request, deadline: DateTime.UtcNow.AddMinutes(10), cancellationToken: cancellationToken);
        return new LabelSlmResult(response.Completions.Select(c => new LabelSlmCompletion(c.Text, c.GeneratedTokens, c.MeanEntropy)).ToArray(), response.PromptTokens);
    }
}
