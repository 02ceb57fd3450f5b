namespace Shepherd.Policy;

internal static partial class PolicyLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Loaded policy bundle {BundleId} ({Mode}, encoder {Encoder}) from {Path} in {ElapsedMs} ms")]
    public static partial void BundleLoaded(ILogger logger, string bundleId, string mode, string encoder, string path, long elapsedMs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Critical, Message = "Cannot load the policy bundle at {Path}; the service will not start")]
    public static partial void BundleLoadFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "A micro-batch of {Count} predictions failed")]
    public static partial void BatchFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Micro-batch of {Count} predictions in {ElapsedMs:0.00} ms")]
    public static partial void BatchRan(ILogger logger, int count, double elapsedMs);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Bundle {Path} has mode {Mode}, already served by another bundle; ignoring it")]
    public static partial void DuplicateMode(ILogger logger, string path, string mode);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Policy:ExecutionProvider is cuda but the CUDA execution provider is unavailable ({Reason}); the encoder runs on the CPU")]
    public static partial void CudaFallback(ILogger logger, string reason);
}
