using Grpc.Core;
using Shepherd.Core.Errors;
using Shepherd.ServiceDefaults;

namespace Shepherd.Orchestrator.OpenAi;

/// <summary>
/// What the pipeline's exceptions mean to an OpenAI client: the same statuses gRPC callers get
/// (ExceptionMappingInterceptor), in OpenAI's shape. Unexpected ones are logged and answered with an opaque id.
/// </summary>
internal static class OpenAiErrors
{
    public static OpenAiError? From(Exception ex, bool callerGone, ILogger logger) => ex switch
    {
        System.Text.Json.JsonException json => OpenAiError.From(StatusCode.InvalidArgument,
            $"the request body is not valid JSON for this API at {json.Path ?? "$"}", param: Param(json.Path)),
        InvalidRequestException invalid => OpenAiError.From(StatusCode.InvalidArgument,
            $"{ChatRequestMapper.Parameter(invalid.Field)}: {invalid.Description}", param: ChatRequestMapper.Parameter(invalid.Field)),
        ModelNotFoundException missing => OpenAiError.From(StatusCode.NotFound, missing.Message, code: "model_not_found", param: "model"),
        BudgetRefusedException budget => OpenAiError.From(StatusCode.ResourceExhausted, budget.Message, code: OpenAiError.InsufficientQuota) with { RetryAfter = budget.RetryAfter },
        CapacityExceededException full => OpenAiError.From(StatusCode.ResourceExhausted, full.Message) with { RetryAfter = full.RetryAfter ?? TimeSpan.FromSeconds(1) },
        DependencyUnavailableException down => OpenAiError.From(StatusCode.Unavailable, "no model can answer now: " + down.Message),
        DependencyRefusedException refused => OpenAiError.From(StatusCode.FailedPrecondition, "no model can answer: " + refused.Message),
        RpcException { StatusCode: StatusCode.Unauthenticated } refused => OpenAiError.From(StatusCode.Unauthenticated, refused.Status.Detail),
        OperationCanceledException when callerGone => null,
        _ => Unexpected(ex, logger),
    };

    /// <summary>"$.shepherd.alpha" → "shepherd.alpha"; "$.messages[0].content" → "messages[0].content".</summary>
    private static string? Param(string? path) => path is null or "$" ? null : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;

    private static OpenAiError Unexpected(Exception ex, ILogger logger)
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        OrchestratorLog.OpenAiUnhandled(logger, id, ex);
        return OpenAiError.From(StatusCode.Internal, $"internal error (id {id})");
    }
}
