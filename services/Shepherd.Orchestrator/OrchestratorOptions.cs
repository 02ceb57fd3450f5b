using System.ComponentModel.DataAnnotations;

namespace Shepherd.Orchestrator;

/// <summary>Section "Orchestrator": downstream services and request bounds.</summary>
public sealed class OrchestratorOptions
{
    public const string SectionName = "Orchestrator";

    /// <summary>The slm-service, e.g. http://127.0.0.1:5101, or dns:///slm:8080 to balance round robin over every
    /// replica behind a DNS name (see <see cref="DnsRefreshSeconds"/>).</summary>
    [Required]
    public string SlmAddress { get; set; } = "http://127.0.0.1:5101";

    /// <summary>The policy-service (http:// or dns:///); empty means no policy (strategies that need it take their fallback).</summary>
    public string PolicyAddress { get; set; } = "http://127.0.0.1:5103";

    /// <summary>Cap of each call to the SLM or the policy; a call gets the caller's remaining deadline when that is sooner.</summary>
    [Range(1, 3600)]
    public int DownstreamTimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// Retry advice sent with RESOURCE_EXHAUSTED when an overloaded downstream service gave none (seconds; in
    /// google.rpc.RetryInfo and the retry-after trailer).
    /// </summary>
    [Range(0.001, 3600)]
    public double OverloadRetryAfterSeconds { get; set; } = 1;

    /// <summary>Largest accepted query, in characters.</summary>
    [Range(1, 1_000_000)]
    public int MaxQueryChars { get; set; } = 20_000;

    /// <summary>
    /// Reconnect backoff of the gRPC channels to the slm, policy and stand-in services. grpc-dotnet's defaults
    /// (1 s growing to 120 s) kept a restarted backend refused for 10–17 s; these bring it back within a second or two.
    /// </summary>
    [Range(10, 60_000)]
    public int ReconnectInitialBackoffMs { get; set; } = 200;

    [Range(10, 600_000)]
    public int ReconnectMaxBackoffMs { get; set; } = 1_000;

    /// <summary>
    /// How often a dns:/// address is resolved again, so replicas added behind the name take traffic within this
    /// period (a connection failure re-resolves at once).
    /// </summary>
    [Range(1, 3600)]
    public int DnsRefreshSeconds { get; set; } = 5;

    /// <summary>Largest accepted task_context (e.g. MBPP's given tests), in characters.</summary>
    [Range(0, 1_000_000)]
    public int MaxTaskContextChars { get; set; } = 20_000;

    /// <summary>SLM tokens per answer; labelling uses the same cap (Core.Configuration.GenerationCaps).</summary>
    [Range(1, 4096)]
    public int SlmMaxTokens { get; set; } = Core.Configuration.GenerationCaps.DefaultSlmMaxTokens;

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
