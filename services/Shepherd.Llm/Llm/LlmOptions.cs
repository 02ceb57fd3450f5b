using System.ComponentModel.DataAnnotations;

namespace Shepherd.Llm;

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

    /// <summary>Tokens of a full LLM answer; labelling uses the same cap (Core.Configuration.GenerationCaps).</summary>
    [Range(1, 32_768)]
    public int MaxAnswerTokens { get; set; } = Core.Configuration.GenerationCaps.DefaultLlmMaxTokens;

    /// <summary>
    /// The prompt the LLM is billed for: "same" (the paper: the SLM's prompt, few-shot examples included) or "lean"
    /// (instruction and question only). Labelling and serving use it alike; the hint cache keys on the messages.
    /// </summary>
    [RegularExpression("^(same|lean)$")]
    public string Prompt { get; set; } = "same";

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

    /// <summary>The Batch API's discount as a fraction of these prices (Groq: 0.5, half price), for <c>label --llm-batch</c>.</summary>
    public double BatchDiscount { get; set; } = Core.Cost.ModelPrice.DefaultBatchDiscount;
}
