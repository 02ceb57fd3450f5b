using Microsoft.Extensions.Logging;

namespace Shepherd.Hosting;

internal static partial class HostingLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Dependency {Dependency} unavailable in {Method}")]
    public static partial void DependencyUnavailable(ILogger logger, string dependency, string method, Exception exception);
}
