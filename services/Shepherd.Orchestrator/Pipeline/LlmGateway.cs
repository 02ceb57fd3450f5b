using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Core.Cost;
using Shepherd.Orchestrator.Llm;
using Shepherd.Orchestrator.Storage;
using CostBreakdown = Shepherd.Core.Cost.CostBreakdown;
using CoreChatMessage = Shepherd.Core.Tasks.ChatMessage;

namespace Shepherd.Orchestrator.Pipeline;

/// <summary>
/// Every LLM call goes through here: the hint cache first (a hit costs $0 and makes no call), then the client,
/// then the cache, the ledger, usage and cost. A per-request budget stops a call whose worst case would cross it.
/// </summary>
public sealed class LlmGateway(
    ILlmClient llm,
    HintCache? cache,
    ILedger ledger,
    PriceTable prices,
    TokenCutter cutter,
    IOptions<StorageOptions> storage,
    IOptions<LlmOptions> options,
    TimeProvider time)
{
    // A token is at least one character in every tokenizer we price, so chars is a safe upper bound of tokens.
    private const double CharsPerTokenLowerBound = 1.0;

    public bool IsStandIn => llm.IsStandIn;

    public string Model => llm.Model;

    /// <summary>The first n tokens of the LLM's answer (max_completion_tokens = n).</summary>
    public Task<LlmCompletion> HintAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, int tokens, CancellationToken cancellationToken) =>
        CompleteAsync(context, messages, tokens, "llm.hint", cancellationToken);

    /// <summary>The LLM's full answer (up to Llm:MaxAnswerTokens).</summary>
    public Task<LlmCompletion> AnswerAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, CancellationToken cancellationToken) =>
        CompleteAsync(context, messages, options.Value.MaxAnswerTokens, "llm.answer", cancellationToken);

    public static string PromptHash(string model, IReadOnlyList<CoreChatMessage> messages)
    {
        var json = JsonSerializer.Serialize(messages.Select(m => new[] { m.Role, m.Content }));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(model + "\n" + json)));
    }

    private async Task<LlmCompletion> CompleteAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, int tokens, string stage, CancellationToken cancellationToken)
    {
        context.LlmStandIn |= llm.IsStandIn;
        var hash = PromptHash(llm.Model, messages);
        LlmCompletion completion;
        using (context.Stage(stage))
        {
            completion = await FromCacheAsync(hash, tokens, cancellationToken) ?? await CallAsync(context, messages, tokens, hash, cancellationToken);
        }

        var price = prices.For(llm.Model);
        var cost = completion.Cached ? CostBreakdown.Zero : CostBreakdown.ForLlm(price, completion.PromptTokens, completion.CompletionTokens);
        context.AddCost(cost);
        context.AddUsage(llm.Model, "llm", completion.Cached ? 0 : completion.PromptTokens, completion.Cached ? 0 : completion.CompletionTokens, billed: !completion.Cached, standIn: llm.IsStandIn);
        await ledger.RecordAsync(
            new LedgerEntry(time.GetUtcNow(), context.RequestId, context.ApiKeyId, context.StrategyName, "llm", llm.Model,
                completion.Cached ? 0 : completion.PromptTokens, completion.Cached ? 0 : completion.CompletionTokens, cost.TotalUsd, completion.Cached, llm.IsStandIn),
            CancellationToken.None);
        return completion;
    }

    private async Task<LlmCompletion> CallAsync(AnswerContext context, IReadOnlyList<CoreChatMessage> messages, int tokens, string hash, CancellationToken cancellationToken)
    {
        if (context.BudgetUsd is { } budget)
        {
            var price = prices.For(llm.Model);
            var worstCase = price.Input((long)(messages.Sum(m => m.Content.Length) / CharsPerTokenLowerBound)) + price.Output(tokens);
            if (context.Cost.TotalUsd + worstCase > budget)
            {
                throw new LlmUnavailableException($"budget: this call could cost up to ${worstCase:F6}, over the request's remaining ${Math.Max(0, budget - context.Cost.TotalUsd):F6}");
            }
        }

        var completion = await llm.CompleteAsync(new LlmRequest(messages.Select(m => new LlmMessage(m.Role, m.Content)).ToArray(), tokens), cancellationToken);
        if (cache is not null)
        {
            await cache.StoreAsync(llm.Model, hash, new CachedAnswer(completion.Text, completion.PromptTokens, completion.CompletionTokens, completion.Complete), CancellationToken.None);
        }

        return completion;
    }

    private async Task<LlmCompletion?> FromCacheAsync(string hash, int tokens, CancellationToken cancellationToken)
    {
        if (cache is null)
        {
            return null;
        }

        var hit = await cache.LookupAsync(llm.Model, hash, tokens, storage.Value.CutWithSlmTokenizer, cancellationToken);
        if (hit is not { } found)
        {
            return null;
        }

        var (answer, how) = found;
        var text = answer.Text;
        var count = answer.CompletionTokens;
        var complete = answer.Complete;
        if (how == HintCache.Match.NeedsCut)
        {
            text = await cutter.FirstTokensAsync(text, tokens, cancellationToken);
            count = tokens;
            complete = false;
        }

        return new LlmCompletion(text, llm.Model, answer.PromptTokens, count, complete, llm.IsStandIn, Cached: true, Attempts: 0);
    }
}

/// <summary>
/// Cuts text to its first n tokens with an slm-service tokenizer: the stand-in's own for the stand-in LLM, the
/// SLM's for a real LLM that shares its tokenizer (Storage:CutWithSlmTokenizer).
/// </summary>
public sealed class TokenCutter(SlmService.SlmServiceClient tokenizer)
{
    public async Task<string> FirstTokensAsync(string text, int tokens, CancellationToken cancellationToken)
    {
        var ids = await tokenizer.TokenizeAsync(new TokenizeRequest { Text = text }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
        var detok = new DetokenizeRequest();
        detok.TokenIds.AddRange(ids.TokenIds.Take(tokens));
        var prefix = (await tokenizer.DetokenizeAsync(detok, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken)).Text;
        // SentencePiece adds a word-boundary space before the first token; the LLM's text did not have it.
        return !text.StartsWith(' ') && prefix.StartsWith(' ') ? prefix[1..] : prefix;
    }
}
