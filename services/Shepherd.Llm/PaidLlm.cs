using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Core.Cost;
using Shepherd.Llm.Storage;
using CostBreakdown = Shepherd.Core.Cost.CostBreakdown;
using CoreChatMessage = Shepherd.Core.Tasks.ChatMessage;

namespace Shepherd.Llm;

/// <summary>Who a paid call is booked to in the ledger.</summary>
public sealed record LedgerTag(string RequestId, string ApiKeyId, string Strategy);

/// <summary>
/// One LLM call as it is booked: the completion, what it cost (zero when cached), its list price (what it would
/// have cost uncached), and the model it is priced and booked under (the configured one).
/// </summary>
public sealed record LlmCharge(LlmCompletion Completion, CostBreakdown Cost, double ListUsd, string Model, bool StandIn)
{
    /// <summary>Its ledger row: a cached answer at $0 and no tokens, flagged.</summary>
    public LedgerEntry ToLedgerEntry(DateTimeOffset at, LedgerTag tag) => new(
        at, tag.RequestId, tag.ApiKeyId, tag.Strategy, "llm", Model,
        Completion.Cached ? 0 : Completion.PromptTokens, Completion.Cached ? 0 : Completion.CompletionTokens, Cost.TotalUsd, Completion.Cached, StandIn);
}

/// <summary>
/// Every LLM call, from an Answer or from labelling, goes through here: the hint cache first (a hit costs $0 and
/// makes no call), then the client, then the cache and the cost. A caller's remaining budget stops a call whose
/// worst case would cross it, before anything is paid. It writes no ledger row: the caller books the returned
/// <see cref="LlmCharge"/> at once (the answer's recorder, labelling's models), before its next step, so a paid
/// call is in the ledger even when the answer then fails. Once the endpoint has answered nothing here can throw:
/// a hint cache that cannot store is logged and skipped. The API key's budget (<see cref="KeyBudgets"/>), when
/// given, holds the worst case before the call and settles the real cost after it.
/// </summary>
public sealed class PaidLlm(ILlmClient llm, HintCache? cache, PriceTable prices, TokenCutter cutter, IOptions<StorageOptions> storage, ILogger<PaidLlm> logger, KeyBudgets? budgets = null)
{
    public bool IsStandIn => llm.IsStandIn;

    public string Model => llm.Model;

    /// <summary>The LLM's list price, per the configured table.</summary>
    public ModelPrice Price => prices.For(llm.Model);

    /// <summary>Who writes this LLM's answers (<see cref="ILlmClient.Source"/>).</summary>
    public string Source => llm.Source;

    /// <summary>The service that answers (<see cref="ILlmClient.Endpoint"/>).</summary>
    public string Endpoint => llm.Endpoint;

    public static string PromptHash(string model, IReadOnlyList<CoreChatMessage> messages)
    {
        var json = JsonSerializer.Serialize(messages.Select(m => new[] { m.Role, m.Content }));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(model + "\n" + json)));
    }

    /// <summary>The most a call may cost: every prompt character a token (no tokenizer we price does better), and all n output tokens.</summary>
    public double WorstCaseUsd(IReadOnlyList<CoreChatMessage> messages, int maxTokens)
    {
        var price = prices.For(llm.Model);
        return price.Input(messages.Sum(m => (long)m.Content.Length)) + price.Output(maxTokens);
    }

    /// <param name="allowCut">Serve a shorter request by cutting a longer cached answer (Storage:CutWithSlmTokenizer applies too).</param>
    /// <param name="deadline">The caller's deadline (UTC), passed to every downstream call; null: each call's own cap.</param>
    /// <param name="apiKeyId">The key whose budget a paid call is reserved against (null: no key budget applies).</param>
    /// <returns>The completion, what it cost (zero when cached) and its list price (what it would have cost uncached).</returns>
    public async Task<LlmCharge> CompleteAsync(
        IReadOnlyList<CoreChatMessage> messages, int maxTokens, double? remainingBudgetUsd, bool allowCut, CancellationToken cancellationToken, DateTime? deadline = null, string? apiKeyId = null)
    {
        var hash = PromptHash(llm.Model, messages);
        var completion = await FromCacheAsync(hash, maxTokens, allowCut && storage.Value.CutWithSlmTokenizer, deadline, cancellationToken);
        if (completion is null)
        {
            if (remainingBudgetUsd is { } budget && WorstCaseUsd(messages, maxTokens) is var worst && worst > budget)
            {
                throw new LlmBudgetExhaustedException($"budget: this call could cost up to ${worst:F6}, over the remaining ${Math.Max(0, budget):F6}");
            }

            var reservation = budgets is null || apiKeyId is null ? null : await budgets.ReserveAsync(apiKeyId, WorstCaseUsd(messages, maxTokens), cancellationToken);
            try
            {
                completion = await llm.CompleteAsync(new LlmRequest(messages.Select(m => new LlmMessage(m.Role, m.Content)).ToArray(), maxTokens, deadline), cancellationToken);
            }
            catch when (reservation is not null)
            {
                await budgets!.SettleAsync(reservation, 0);
                throw;
            }

            if (reservation is not null)
            {
                await budgets!.SettleAsync(reservation, CostBreakdown.ForLlm(prices.For(llm.Model), completion.PromptTokens, completion.CompletionTokens).TotalUsd);
            }

            await StoreAsync(hash, completion);
        }

        // Priced by the configured model (start-up refuses an unpriced one) and booked under it.
        var list = CostBreakdown.ForLlm(prices.For(llm.Model), completion.PromptTokens, completion.CompletionTokens);
        return new LlmCharge(completion, completion.Cached ? CostBreakdown.Zero : list, list.TotalUsd, llm.Model, llm.IsStandIn);
    }

    private async Task StoreAsync(string hash, LlmCompletion completion)
    {
        if (cache is null)
        {
            return;
        }

        try
        {
            await cache.StoreAsync(llm.Source, llm.Model, hash, new CachedAnswer(completion.Text, completion.PromptTokens, completion.CompletionTokens, completion.Complete), CancellationToken.None);
        }
        catch (System.Data.Common.DbException ex)
        {
            // The call is paid: it must still reach the caller, and so the ledger (SQLite or PostgreSQL alike).
            LlmLog.HintCacheStoreFailed(logger, llm.Model, ex.ErrorCode, ex.Message);
        }
    }

    /// <summary>The client behind this path (the batch runner sends through the same endpoint and key).</summary>
    public ILlmClient Client => llm;

    /// <summary>The hint cache's answer for these messages at this cap, or null (so a batch need not ask again).</summary>
    public Task<LlmCompletion?> CachedAsync(IReadOnlyList<CoreChatMessage> messages, int maxTokens, CancellationToken cancellationToken) =>
        FromCacheAsync(PromptHash(llm.Model, messages), maxTokens, allowCut: false, null, cancellationToken);

    /// <summary>
    /// An answer bought through the Batch API as it is booked, at the batch price. Like <see cref="CompleteAsync"/> it
    /// writes no ledger row: the caller books it, then stores the answer with <see cref="StoreBatchAsync"/>.
    /// </summary>
    public LlmCharge BatchCharge(LlmCompletion completion)
    {
        var list = CostBreakdown.ForLlm(prices.For(llm.Model), completion.PromptTokens, completion.CompletionTokens);
        var cost = CostBreakdown.ForLlm(prices.For(llm.Model).Batch, completion.PromptTokens, completion.CompletionTokens);
        return new LlmCharge(completion, cost, list.TotalUsd, llm.Model, llm.IsStandIn);
    }

    /// <summary>Stores a booked Batch API answer in the hint cache, so the labelling that follows pays nothing more for it.</summary>
    public Task StoreBatchAsync(IReadOnlyList<CoreChatMessage> messages, LlmCompletion completion) =>
        StoreAsync(PromptHash(llm.Model, messages), completion);

    private async Task<LlmCompletion?> FromCacheAsync(string hash, int tokens, bool allowCut, DateTime? deadline, CancellationToken cancellationToken)
    {
        if (cache is null)
        {
            return null;
        }

        var hit = await cache.LookupAsync(llm.Source, llm.Model, hash, tokens, allowCut, cancellationToken);
        if (hit is not { } found)
        {
            return null;
        }

        var (answer, how) = found;
        if (how != HintCache.Match.NeedsCut)
        {
            return new LlmCompletion(answer.Text, llm.Model, answer.PromptTokens, answer.CompletionTokens, answer.Complete, llm.IsStandIn, Cached: true, Attempts: 0);
        }

        var text = await cutter.FirstTokensAsync(answer.Text, tokens, cancellationToken, deadline);
        return new LlmCompletion(text, llm.Model, answer.PromptTokens, tokens, Complete: false, llm.IsStandIn, Cached: true, Attempts: 0);
    }
}

/// <summary>
/// Cuts text to its first n tokens with an slm-service tokenizer: the stand-in's own for the stand-in LLM, the
/// SLM's for a real LLM that shares its tokenizer (Storage:CutWithSlmTokenizer).
/// </summary>
public sealed class TokenCutter(SlmService.SlmServiceClient tokenizer)
{
    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(30);

    public async Task<string> FirstTokensAsync(string text, int tokens, CancellationToken cancellationToken, DateTime? deadline = null)
    {
        var ids = await TokenizeAsync(text, cancellationToken, deadline);
        return await DetokenizeAsync(text, ids.Take(tokens), cancellationToken, deadline);
    }

    public async Task<IReadOnlyList<int>> TokenizeAsync(string text, CancellationToken cancellationToken, DateTime? deadline = null)
    {
        if (text.Length == 0)
        {
            return [];
        }

        var response = await tokenizer.TokenizeAsync(new TokenizeRequest { Text = text }, deadline: Deadline(deadline), cancellationToken: cancellationToken);
        return response.TokenIds;
    }

    /// <summary>Token ids back to text; SentencePiece's word-boundary space is dropped when the original had none.</summary>
    public async Task<string> DetokenizeAsync(string original, IEnumerable<int> ids, CancellationToken cancellationToken, DateTime? deadline = null)
    {
        var request = new DetokenizeRequest();
        request.TokenIds.AddRange(ids);
        if (request.TokenIds.Count == 0)
        {
            return "";
        }

        var prefix = (await tokenizer.DetokenizeAsync(request, deadline: Deadline(deadline), cancellationToken: cancellationToken)).Text;
        return !original.StartsWith(' ') && prefix.StartsWith(' ') ? prefix[1..] : prefix;
    }

    /// <summary>The caller's deadline, capped per call.</summary>
    private static DateTime Deadline(DateTime? caller)
    {
        var capped = DateTime.UtcNow + Cap;
        return caller is { } d && d < capped ? d : capped;
    }
}
