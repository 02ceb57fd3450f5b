namespace Shepherd.Orchestrator;

internal static partial class OrchestratorLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Answered {RequestId} for key {ApiKeyId} with {Strategy}: path {Path}, ${Usd}, LLM stand-in {StandIn}, degraded {Degraded}")]
    public static partial void Answered(ILogger logger, string requestId, string apiKeyId, string strategy, string path, double usd, bool standIn, bool degraded);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "No LLM key configured: using the local stand-in LLM at {Address}. Its answers, accuracy and cost mean nothing.")]
    public static partial void UsingStandIn(ILogger logger, string address);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "LLM {Model} at {BaseUrl}, key from {KeySource}")]
    public static partial void UsingLlm(ILogger logger, string model, string baseUrl, string keySource);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Ledger: {Store}")]
    public static partial void LedgerStore(ILogger logger, string store);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Hint cache: dropped {Entries} entries of the old format, which did not record whether the stand-in or the real LLM wrote them")]
    public static partial void DiscardedLegacyHintCache(ILogger logger, long entries);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "DNS resolution of {Host} failed; the balancer keeps its last addresses and tries again")]
    public static partial void DnsResolutionFailed(ILogger logger, string host, Exception exception);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Error, Message = "OpenAI API: unexpected failure (id {ErrorId})")]
    public static partial void OpenAiUnhandled(ILogger logger, string errorId, Exception exception);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "Refused {Method}: {Reason}")]
    public static partial void IdentityRefused(ILogger logger, string method, string reason);
}
