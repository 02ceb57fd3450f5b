namespace Shepherd.Slm;

internal static partial class SlmLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Loaded SLM model {Name} from {Path}: context {Context}, vocab {Vocab}, chat template {HasTemplate}, backend {Backend}, {Threads} threads")]
    public static partial void ModelLoaded(ILogger logger, string name, string path, int context, int vocab, bool hasTemplate, string backend, int threads);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "SLM queue full ({MaxQueue} waiting); request refused")]
    public static partial void QueueFull(ILogger logger, int maxQueue);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "SLM decode loop step failed; in-flight requests failed")]
    public static partial void DecodeLoopFailed(ILogger logger, Exception exception);
}
