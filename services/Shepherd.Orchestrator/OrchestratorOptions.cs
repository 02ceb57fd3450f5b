using System.ComponentModel.DataAnnotations;

namespace Shepherd.Orchestrator;

/// <summary>Section "Orchestrator": downstream services and request bounds.</summary>
public sealed class OrchestratorOptions
{
    public const string SectionName = "Orchestrator";

    /// <summary>The slm-service, e.g. http://127.0.0.1:5101.</summary>
    [Required]
    public string SlmAddress { get; set; } = "http://127.0.0.1:5101";

    /// <summary>The policy-service; empty means no policy (strategies that need it take their fallback).</summary>
    public string PolicyAddress { get; set; } = "http://127.0.0.1:5103";

    /// <summary>Deadline of each call to the SLM or the policy.</summary>
    [Range(1, 3600)]
    public int DownstreamTimeoutSeconds { get; set; } = 120;

    /// <summary>Largest accepted query, in characters.</summary>
    [Range(1, 1_000_000)]
    public int MaxQueryChars { get; set; } = 20_000;

    /// <summary>SLM tokens per answer.</summary>
    [Range(1, 4096)]
    public int SlmMaxTokens { get; set; } = 512;

    /// <summary>Temperature of the K consensus samples (paper: 0.3).</summary>
    [Range(0.0, 2.0)]
    public double SampleTemperature { get; set; } = 0.3;

    /// <summary>Upper bound of a hint, whatever the policy says (N_max of the bundle applies first).</summary>
    [Range(1, 100_000)]
    public int MaxHintTokens { get; set; } = 4096;

    /// <summary>cascade-scorer: escalate when the scorer's confidence is below this.</summary>
    [Range(0.0, 1.0)]
    public double ScorerThreshold { get; set; } = 0.5;

    /// <summary>cascade-scorer without a reactive policy: confidence = exp(−mean entropy / this scale).</summary>
    [Range(0.01, 100.0)]
    public double EntropyScale { get; set; } = 1.0;

    /// <summary>Price of the local SLM per million tokens (0 for a local open model, as in the paper).</summary>
    public double SlmInputPerMillion { get; set; }

    public double SlmOutputPerMillion { get; set; }
}

/// <summary>Section "Llm": the paid model behind an OpenAI-compatible chat-completions API (Groq by default).</summary>
public sealed class LlmOptions
{
    public const string SectionName = "Llm";

    [Required]
    public string BaseUrl { get; set; } = "https://api.groq.com/openai/v1";

    [Required]
    public string Model { get; set; } = "llama-3.3-70b-versatile";

    /// <summary>Name of the environment variable holding the key.</summary>
    public string ApiKeyVariable { get; set; } = "GROQ_API_KEY";

    /// <summary>A file holding the key (a mounted secret), read when the variable is unset.</summary>
    public string? ApiKeyFile { get; set; }

    /// <summary>"max_completion_tokens" (OpenAI/Groq) or "max_tokens" for endpoints that need the older name.</summary>
    public string TokenLimitParameter { get; set; } = "max_completion_tokens";

    /// <summary>Per-attempt timeout.</summary>
    [Range(1, 600)]
    public int TimeoutSeconds { get; set; } = 60;

    /// <summary>Retries after a 429, a 5xx or a timeout; then the call fails to the degradation.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>Base of the exponential backoff with full jitter for 5xx and timeouts.</summary>
    [Range(1, 60_000)]
    public int RetryBaseDelayMs { get; set; } = 250;

    /// <summary>A 429 whose retry-after exceeds this fails fast instead of waiting.</summary>
    [Range(0, 3600)]
    public double MaxRetryAfterSeconds { get; set; } = 30;

    /// <summary>Tokens of a full LLM answer.</summary>
    [Range(1, 32_768)]
    public int MaxAnswerTokens { get; set; } = 1024;

    /// <summary>When the LLM fails: "degrade" answers with the SLM alone, flagged; "fail" answers UNAVAILABLE.</summary>
    [RegularExpression("^(degrade|fail)$")]
    public string OnFailure { get; set; } = "degrade";

    /// <summary>Without a key: the slm-service that plays the LLM (a local stand-in). Empty: the SLM's own address.</summary>
    public string StandInAddress { get; set; } = "";

    /// <summary>Per-model prices, USD per million tokens; merged over the Groq defaults.</summary>
    public Dictionary<string, PriceOptions> Pricing { get; set; } = [];
}

public sealed class PriceOptions
{
    public double InputPerMillion { get; set; }

    public double OutputPerMillion { get; set; }
}

/// <summary>Section "Storage": the ledger and the hint cache.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>SQLite file of the ledger and the hint cache (WAL, synchronous=FULL).</summary>
    public string SqlitePath { get; set; } = ".shepherd/orchestrator.db";

    /// <summary>When set, the ledger lives in PostgreSQL instead.</summary>
    public string? PostgresConnectionString { get; set; }

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
