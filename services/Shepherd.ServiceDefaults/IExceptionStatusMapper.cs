using Grpc.Core;

namespace Shepherd.ServiceDefaults;

/// <summary>
/// A host's own exceptions as gRPC statuses. <see cref="ExceptionMappingInterceptor"/> asks every registered mapper
/// in turn; an exception none of them knows becomes INTERNAL with an opaque id.
/// </summary>
public interface IExceptionStatusMapper
{
    /// <returns>The status to answer with, or null when this mapper does not know the exception.</returns>
    RpcException? Map(Exception exception, ServerCallContext context);
}
