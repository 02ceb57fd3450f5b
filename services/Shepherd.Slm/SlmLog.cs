namespace Shepherd.Slm;

internal static partial class SlmLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Loaded SLM model {Name} from {Path}: context {Context}, vocab {Vocab}, chat template {HasTemplate}, backend {Backend}, {Threads} threads")]
    public static partial void ModelLoaded(ILogger logger, string name, string path, int context, int vocab, bool hasTemplate, string backend, int threads);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "SLM queue full ({MaxQueue} waiting); request refused")]
    public static partial void QueueFull(ILogger logger, int maxQueue);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "SLM decode loop step failed; in-flight requests failed")]
    public static partial void DecodeLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "SLM request failed to decode even alone ({PromptTokens} prompt tokens, n = {N}, status {Status}); only that request fails")]
    public static partial void RequestDecodeFailed(ILogger logger, int promptTokens, int n, string status);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "SLM llama.cpp context rebuilt: {Why}")]
    public static partial void ContextReset(ILogger logger, string why);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Critical, Message = "SLM decode loop stopped; health reports NOT_SERVING")]
    public static partial void DecodeLoopStopped(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Critical, Message = "SLM decode loop unhealthy: {Reason}; health reports NOT_SERVING")]
    public static partial void DecodeLoopUnhealthy(ILogger logger, string reason);
}
