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
        new(options.Pricing.ToDictionary(kv => kv.Key, kv => new ModelPrice(kv.Value.InputPerMillion, kv.Value.OutputPerMillion)));

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
