using Grpc.Core;
using Shepherd.ServiceDefaults;

namespace Shepherd.Edge;

/// <summary>
/// Writes a gRPC trailers-only response (HTTP 200, application/grpc, grpc-status and grpc-message in the one
/// HEADERS frame), which every gRPC client reads as a call that failed with that status.
/// </summary>
internal static class GrpcStatusResponse
{
    public static Task WriteAsync(HttpContext context, StatusCode status, string message)
    {
        var response = context.Response;
        response.Headers.Clear();
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = GrpcStatusMessage.Encode(message);
        return response.CompleteAsync();
    }
}
