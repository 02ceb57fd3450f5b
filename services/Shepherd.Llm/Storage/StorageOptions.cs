using System.ComponentModel.DataAnnotations;

namespace Shepherd.Llm.Storage;

/// <summary>Section "Storage": the ledger and the hint cache.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>SQLite file of the ledger and the hint cache (WAL, synchronous=FULL).</summary>
    public string SqlitePath { get; set; } = ".shepherd/orchestrator.db";

    /// <summary>When set, the ledger and the hint cache live in PostgreSQL instead, shared by every orchestrator replica.</summary>
    public string? PostgresConnectionString { get; set; }

    public const int DefaultLedgerQueueCapacity = 4096;

    public const int DefaultLedgerMaxBatch = 256;

    /// <summary>
    /// Ledger rows that may wait for the group-commit writer; when full, callers wait to enter (backpressure).
    /// </summary>
    [Range(1, 1_000_000)]
    public int LedgerQueueCapacity { get; set; } = DefaultLedgerQueueCapacity;

    /// <summary>Most rows one ledger transaction (one fsync) commits.</summary>
    [Range(1, 1000)]
    public int LedgerMaxBatch { get; set; } = DefaultLedgerMaxBatch;

    public bool HintCacheEnabled { get; set; } = true;

    [Range(1, 100_000_000)]
    public int HintCacheMaxEntries { get; set; } = 100_000;

    [Range(0.001, 100_000)]
    public double HintCacheTtlHours { get; set; } = 24 * 7;

    /// <summary>
    /// Serve a shorter hint from a longer cached answer by cutting it with the SLM's tokenizer. Right only when the
    /// SLM shares the LLM's tokenizer (Llama-3.2 with Llama-3.3; always for the stand-in).
    /// </summary>
    public bool CutWithSlmTokenizer { get; set; } = true;
}
