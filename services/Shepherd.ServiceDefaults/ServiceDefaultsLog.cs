using Microsoft.Extensions.Logging;

namespace Shepherd.ServiceDefaults;

internal static partial class ServiceDefaultsLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Error, Message = "Unhandled exception in {Method}, error id {ErrorId}")]
    public static partial void Unhandled(ILogger logger, string method, string errorId, Exception exception);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Refused request to {Method} before its handler: {Status} {Reason}")]
    public static partial void RejectedRequest(ILogger logger, string method, Grpc.Core.StatusCode status, string reason);
}
