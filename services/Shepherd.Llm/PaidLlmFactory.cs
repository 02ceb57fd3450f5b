using Shepherd.Core.Cost;
using Shepherd.Llm.Storage;

namespace Shepherd.Llm;

/// <summary>Prices and the ledger from options (the wiring itself is <see cref="PaidLlmServiceCollectionExtensions.AddPaidLlm"/>).</summary>
public static class PaidLlmFactory
{
    /// <summary>The configured prices over Groq's defaults.</summary>
    public static PriceTable Prices(LlmOptions options) =>
        new(options.Pricing.ToDictionary(kv => kv.Key, kv => new ModelPrice(kv.Value.InputPerMillion, kv.Value.OutputPerMillion, kv.Value.BatchDiscount)));

    /// <summary>Null when the configured model has a price, else what to set (no paid call may go unrecorded).</summary>
    public static string? MissingPrice(LlmOptions options)
    {
        try
        {
            return Prices(options).Has(options.Model) ? null
                : $"Llm:Model '{options.Model}' has no price: set Llm:Pricing:{options.Model}:InputPerMillion and Llm:Pricing:{options.Model}:OutputPerMillion (USD per million tokens)";
        }
        catch (ArgumentOutOfRangeException ex)
        {
            return $"Llm:Pricing: {ex.Message}";
        }
    }

    /// <summary>The group-commit ledger; dispose it to commit what is queued and close its connection.</summary>
    public static ILedger Ledger(StorageOptions storage) =>
        string.IsNullOrWhiteSpace(storage.PostgresConnectionString)
            ? new SqliteLedger(storage.SqlitePath, storage.LedgerQueueCapacity, storage.LedgerMaxBatch)
            : new PostgresLedger(storage.PostgresConnectionString, storage.LedgerQueueCapacity, storage.LedgerMaxBatch);

    /// <summary>The hint cache beside the ledger: shared in PostgreSQL when the ledger is, else in the SQLite file.</summary>
    public static HintCache HintCache(StorageOptions storage, TimeProvider time) =>
        string.IsNullOrWhiteSpace(storage.PostgresConnectionString)
            ? new SqliteHintCache(storage.SqlitePath, storage.HintCacheMaxEntries, TimeSpan.FromHours(storage.HintCacheTtlHours), time)
            : new PostgresHintCache(storage.PostgresConnectionString, storage.HintCacheMaxEntries, TimeSpan.FromHours(storage.HintCacheTtlHours), time);
}
