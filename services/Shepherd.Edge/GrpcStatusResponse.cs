using Grpc.Core;
using Shepherd.ServiceDefaults;
using Yarp.ReverseProxy.Model;

namespace Shepherd.Edge;

/// <summary>
/// Writes a gRPC trailers-only response (HTTP 200, application/grpc, grpc-status and grpc-message in the one
/// HEADERS frame), which every gRPC client reads as a call that failed with that status. On a route whose metadata
/// says "Shepherd.Errors": "OpenAi" (the OpenAI-compatible API) the same status is written as OpenAI's JSON error.
/// </summary>
internal static class GrpcStatusResponse
{
    public const string ErrorsMetadata = "Shepherd.Errors";

    public static Task WriteAsync(HttpContext context, StatusCode status, string message, TimeSpan? retryAfter = null)
    {
        var route = context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config;
        if (route?.Metadata is { } metadata && metadata.TryGetValue(ErrorsMetadata, out var dialect) && dialect == "OpenAi")
        {
            return (OpenAiError.From(status, message) with { RetryAfter = retryAfter }).WriteAsync(context.Response);
        }

        var response = context.Response;
        response.Headers.Clear();
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = GrpcStatusMessage.Encode(message);
        if (retryAfter is { } wait)
        {
            response.Headers["retry-after"] = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return response.CompleteAsync();
    }
}
