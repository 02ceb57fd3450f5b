namespace Shepherd.Edge;

/// <summary>Edge log events. Key ids only: a key, or anything derived from one, never reaches a log.</summary>
internal static partial class EdgeLog
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Rejected {Path}: no API key")]
    public static partial void MissingKey(ILogger logger, string path);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Rejected {Path}: unknown API key")]
    public static partial void UnknownKey(ILogger logger, string path);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Rejected {Path}: key {KeyId} is not an admin key")]
    public static partial void NotAdmin(ILogger logger, string path, string keyId);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Rate limited {Path}: key {KeyId}")]
    public static partial void RateLimited(ILogger logger, string path, string keyId);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Rate limited {Path}: public route")]
    public static partial void PublicRateLimited(ILogger logger, string path);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Debug, Message = "Forwarding {Path} for key {KeyId}")]
    public static partial void Forwarding(ILogger logger, string path, string keyId);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "No Identity:SigningKey (or Identity:SigningKeyFile): key ids are forwarded unsigned, and an orchestrator refuses them with UNAUTHENTICATED")]
    public static partial void IdentityUnsigned(ILogger logger);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "Connect to {Destination} of cluster {Cluster} failed; retrying on another destination")]
    public static partial void ConnectRetry(ILogger logger, string destination, string cluster);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "Upstream {Cluster}/{Destination} failed for {Path}: {Error}")]
    public static partial void UpstreamFailed(ILogger logger, string cluster, string destination, string path, string error);
}
