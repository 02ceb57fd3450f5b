using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Shepherd.ServiceDefaults;

/// <summary>
/// An error in OpenAI's shape, <c>{"error": {"message", "type", "param", "code"}}</c>, with the HTTP status an
/// OpenAI SDK expects for it. The one mapping from gRPC statuses, shared by the edge (key checks, rate limits,
/// upstream failures) and the orchestrator's OpenAI-compatible API.
/// </summary>
public sealed record OpenAiError(int HttpStatus, string Type, string? Code, string Message, string? Param = null)
{
    /// <summary>Seconds to wait, for 429s: the retry-after header OpenAI SDKs honour.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The OpenAI status, type and code for a gRPC status (an explicit code overrides the default one).</summary>
    public static OpenAiError From(StatusCode status, string message, string? code = null, string? param = null) => status switch
    {
        StatusCode.InvalidArgument => new(400, "invalid_request_error", code ?? "invalid_value", message, param),
        StatusCode.Unauthenticated => new(401, "invalid_request_error", code ?? "invalid_api_key", message),
        StatusCode.PermissionDenied => new(403, "invalid_request_error", code ?? "permission_denied", message),
        StatusCode.NotFound => new(404, "invalid_request_error", code ?? "not_found", message, param),
        StatusCode.ResourceExhausted => new(429, code == InsufficientQuota ? InsufficientQuota : "requests", code ?? "rate_limit_exceeded", message),
        StatusCode.DeadlineExceeded => new(504, "server_error", code ?? "timeout", message),
        StatusCode.Cancelled => new(499, "server_error", code ?? "cancelled", message),
        StatusCode.Unavailable or StatusCode.FailedPrecondition => new(503, "server_error", code ?? "service_unavailable", message),
        _ => new(500, "server_error", code ?? "internal_error", message),
    };

    /// <summary>OpenAI's type and code for a spending limit reached (HTTP 429).</summary>
    public const string InsufficientQuota = "insufficient_quota";

    public object Body => new { error = new { message = Message, type = Type, param = Param, code = Code } };

    public Task WriteAsync(HttpResponse response)
    {
        response.Headers.Clear();
        response.StatusCode = HttpStatus;
        if (RetryAfter is { } wait)
        {
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        response.ContentType = "application/json";
        return response.WriteAsync(JsonSerializer.Serialize(Body));
    }
}
