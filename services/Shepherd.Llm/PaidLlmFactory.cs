using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Core.Cost;
using Shepherd.Llm.Storage;

namespace Shepherd.Llm;

/// <summary>Builds the paid-LLM path outside a DI container (the CLI's labelling uses it).</summary>
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

    /// <summary>
    /// The LLM is the configured OpenAI-compatible endpoint when a key is found, else the stand-in behind
    /// <paramref name="slm"/>, whose tokenizer also cuts cached answers.
    /// </summary>
    public static PaidLlm Create(LlmOptions llm, StorageOptions storage, SlmService.SlmServiceClient slm, ILoggerFactory loggers)
    {
        if (MissingPrice(llm) is { } missing)
        {
            throw new InvalidOperationException(missing);
        }

        var options = Options.Create(llm);
        var key = new LlmApiKey(options);
        ILlmClient client = key.Value is null
            ? new StandInLlmClient(new StandInSlmClient(slm, llm.StandInAddress), options)
            : new OpenAiChatClient(new HttpClient(), options, key, new LlmMetrics(), loggers.CreateLogger<OpenAiChatClient>(), TimeProvider.System);
        var cache = storage.HintCacheEnabled
            ? new HintCache(storage.SqlitePath, storage.HintCacheMaxEntries, TimeSpan.FromHours(storage.HintCacheTtlHours), TimeProvider.System)
            : null;
        return new PaidLlm(client, cache, Ledger(storage), Prices(llm), new TokenCutter(slm), Options.Create(storage), TimeProvider.System);
    }
}
