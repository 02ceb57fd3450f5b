using Google.Protobuf.Reflection;

namespace Shepherd.ServiceDefaults;

/// <summary>Which contracts <see cref="MalformedMessageMiddleware"/> reads requests of; the host names its own.</summary>
public sealed class MalformedMessageOptions
{
    /// <summary>Proto files whose services' unary and server-streaming methods are checked.</summary>
    public List<FileDescriptor> Contracts { get; } = [];
}
