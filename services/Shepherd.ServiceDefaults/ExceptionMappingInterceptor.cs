using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Shepherd.Core.Errors;

namespace Shepherd.ServiceDefaults;

/// <summary>
/// Maps domain exceptions to precise gRPC statuses. Unexpected exceptions become INTERNAL with an opaque id;
/// their text (which may hold paths or secrets) goes only to the log.
/// </summary>
public sealed class ExceptionMappingInterceptor(ILogger<ExceptionMappingInterceptor> logger) : Interceptor
{
    /// <summary>Seconds to wait before retrying a RESOURCE_EXHAUSTED call, as HTTP's Retry-After.</summary>
    public const string RetryAfterTrailer = "retry-after";

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
        switch (ex)
        {
            case InvalidRequestException invalid:
                return new Google.Rpc.Status
                {
                    Code = (int)Code.InvalidArgument,
                    Message = invalid.Message,
                    Details =
                    {
                        Any.Pack(new BadRequest
                        {
                            FieldViolations =
                            {
                                new BadRequest.Types.FieldViolation { Field = invalid.Field, Description = invalid.Description },
                            },
                        }),
                    },
                }.ToRpcException();
            case CapacityExceededException full:
                return Exhausted(full);
            case BudgetRefusedException budget:
                return Exhausted(new CapacityExceededException(budget.Message, budget.RetryAfter));
            case DependencyUnavailableException down:
                ServiceDefaultsLog.DependencyUnavailable(logger, down.Dependency, context.Method, ex);
                return new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, down.Message));
            case DependencyRefusedException refused:
                ServiceDefaultsLog.DependencyUnavailable(logger, refused.Dependency, context.Method, ex);
                return new RpcException(new Grpc.Core.Status(StatusCode.FailedPrecondition, refused.Message));
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

    /// <summary>RESOURCE_EXHAUSTED, with the retry advice (when known) as google.rpc.RetryInfo and a retry-after trailer in seconds.</summary>
    private static RpcException Exhausted(CapacityExceededException full)
    {
        if (full.RetryAfter is not { } wait)
        {
            return new RpcException(new Grpc.Core.Status(StatusCode.ResourceExhausted, full.Message));
        }

        var exception = new Google.Rpc.Status
        {
            Code = (int)Code.ResourceExhausted,
            Message = full.Message,
            Details = { Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(wait) }) },
        }.ToRpcException();
        exception.Trailers.Add(RetryAfterTrailer, Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture));
        return exception;
    }
}
