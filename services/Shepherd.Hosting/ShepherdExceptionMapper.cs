using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Shepherd.Core.Errors;
using Shepherd.ServiceDefaults;

namespace Shepherd.Hosting;

/// <summary>Shepherd.Core's exceptions as precise gRPC statuses (the rest is <see cref="ExceptionMappingInterceptor"/>'s).</summary>
public sealed class ShepherdExceptionMapper(ILogger<ShepherdExceptionMapper> logger) : IExceptionStatusMapper
{
    /// <summary>Seconds to wait before retrying a RESOURCE_EXHAUSTED call, as HTTP's Retry-After.</summary>
    public const string RetryAfterTrailer = "retry-after";

    public RpcException? Map(Exception exception, ServerCallContext context)
    {
        switch (exception)
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
                HostingLog.DependencyUnavailable(logger, down.Dependency, context.Method, exception);
                return new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, down.Message));
            case DependencyRefusedException refused:
                HostingLog.DependencyUnavailable(logger, refused.Dependency, context.Method, exception);
                return new RpcException(new Grpc.Core.Status(StatusCode.FailedPrecondition, refused.Message));
            default:
                return null;
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
