namespace Shepherd.Llm.Storage;

/// <summary>One billable call: an LLM completion (cached ones at $0, flagged) or an SLM generation.</summary>
public sealed record LedgerEntry(
    DateTimeOffset Timestamp,
    string RequestId,
    string ApiKeyId,
    string Strategy,
    string Role,
    string Model,
    long PromptTokens,
    long CompletionTokens,
    double Usd,
    bool Cached,
    bool StandIn);

/// <summary>Totals of one (key, model, strategy); Calls counts billed (non-cached) calls.</summary>
public sealed record UsageRow(string ApiKeyId, string Model, string Strategy, long Calls, long PromptTokens, long CompletionTokens, double Usd);

public interface ILedger
{
    Task RecordAsync(LedgerEntry entry, CancellationToken cancellationToken);

    Task<IReadOnlyList<UsageRow>> TotalsAsync(string? apiKeyId, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken);

    Task<IReadOnlyList<LedgerEntry>> EntriesAsync(string requestId, CancellationToken cancellationToken);
}
