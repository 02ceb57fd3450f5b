using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Shepherd.ServiceDefaults;

/// <summary>
/// Maps exceptions to precise gRPC statuses: the host's own through its <see cref="IExceptionStatusMapper"/>s,
/// cancellation as CANCELLED or DEADLINE_EXCEEDED. Unexpected exceptions become INTERNAL with an opaque id; their
/// text (which may hold paths or secrets) goes only to the log.
/// </summary>
public sealed class ExceptionMappingInterceptor(IEnumerable<IExceptionStatusMapper> mappers, ILogger<ExceptionMappingInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Map(ex, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Map(ex, context);
        }
    }

    private RpcException Map(Exception ex, ServerCallContext context)
    {
        foreach (var mapper in mappers)
        {
            if (mapper.Map(ex, context) is { } mapped)
            {
                return mapped;
            }
        }

        switch (ex)
        {
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return new RpcException(context.Deadline <= DateTime.UtcNow
                    ? new Grpc.Core.Status(StatusCode.DeadlineExceeded, "deadline exceeded")
                    : new Grpc.Core.Status(StatusCode.Cancelled, "call cancelled"));
            default:
                var id = Guid.NewGuid().ToString("N")[..12];
                ServiceDefaultsLog.Unhandled(logger, context.Method, id, ex);
                return new RpcException(new Grpc.Core.Status(StatusCode.Internal, $"internal error (id {id})"));
        }
    }
}
