using System.Threading.RateLimiting;
using Grpc.Core;
using Microsoft.Extensions.Primitives;
using Shepherd.ServiceDefaults.Identity;
using Yarp.ReverseProxy.Model;

namespace Shepherd.Edge.Auth;

/// <summary>
/// API keys and per-key rate limits for proxied routes. The edge's own endpoints (health, /alive) are not YARP
/// routes and pass untouched. A forwarded request carries the authenticated key id and never the key itself.
/// </summary>
internal sealed class ApiKeyMiddleware(RequestDelegate next, ApiKeyStore keys, IdentityForwarder identity, EdgeMetrics metrics, ILogger<ApiKeyMiddleware> logger)
{
    /// <summary>Set by the edge only (signed, <see cref="IdentityForwarder"/>): whatever a client sends under this name is dropped.</summary>
    public const string KeyIdHeader = SignedIdentity.KeyIdHeader;

    /// <summary>"true" when the authenticated key is an admin key (e.g. may read other keys' usage).</summary>
    public const string KeyAdminHeader = SignedIdentity.AdminHeader;

    public const string ApiKeyHeader = "x-api-key";

    private const string AuthorizationHeader = "authorization";

    private const string BearerPrefix = "Bearer ";

    public Task InvokeAsync(HttpContext context)
    {
        var route = context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>();
        if (route is null)
        {
            return next(context);
        }

        var headers = context.Request.Headers;
        var presented = PresentedKey(headers);
        IdentityForwarder.Strip(headers);
        headers.Remove(AuthorizationHeader);
        headers.Remove(ApiKeyHeader);
        var path = context.Request.Path.Value ?? "";
        var routeId = route.Config.RouteId;

        var access = RouteAccessMetadata.Of(route.Config);
        if (access == RouteAccess.Public)
        {
            using var publicLease = keys.PublicLimiter.AttemptAcquire();
            if (!publicLease.IsAcquired)
            {
                EdgeLog.PublicRateLimited(logger, path);
                metrics.Refused("rate", routeId, EdgeMetrics.PublicCaller);
                return GrpcStatusResponse.WriteAsync(context, StatusCode.ResourceExhausted, "rate limit exceeded");
            }

            metrics.Forwarded(routeId, EdgeMetrics.PublicCaller);
            return next(context);
        }

        if (presented.Length == 0)
        {
            EdgeLog.MissingKey(logger, path);
            metrics.Refused("auth", routeId, EdgeMetrics.NoKey);
            return GrpcStatusResponse.WriteAsync(
                context, StatusCode.Unauthenticated, "API key required: send 'authorization: Bearer <key>' or 'x-api-key: <key>'");
        }

        var key = keys.Authenticate(presented.AsSpan());
        if (key is null)
        {
            EdgeLog.UnknownKey(logger, path);
            metrics.Refused("auth", routeId, EdgeMetrics.UnknownKey);
            return GrpcStatusResponse.WriteAsync(context, StatusCode.Unauthenticated, "invalid API key");
        }

        if (access == RouteAccess.Admin && !key.Admin)
        {
            EdgeLog.NotAdmin(logger, path, key.Id);
            metrics.Refused("permission", routeId, key.Id);
            return GrpcStatusResponse.WriteAsync(context, StatusCode.PermissionDenied, "this API key may not call admin services");
        }

        using var lease = key.Limiter.AttemptAcquire();
        if (!lease.IsAcquired)
        {
            EdgeLog.RateLimited(logger, path, key.Id);
            metrics.Refused("rate", routeId, key.Id);
            return GrpcStatusResponse.WriteAsync(context, StatusCode.ResourceExhausted, $"rate limit exceeded for API key '{key.Id}'",
                lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1));
        }

        identity.Forward(headers, key.Id, key.Admin);
        EdgeLog.Forwarding(logger, path, key.Id);
        metrics.Forwarded(routeId, key.Id);
        return next(context);
    }

    private static string PresentedKey(IHeaderDictionary headers)
    {
        StringValues authorization = headers.Authorization;
        if (authorization.Count == 1 && authorization[0] is { } value
            && value.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return value[BearerPrefix.Length..].Trim();
        }

        StringValues apiKey = headers[ApiKeyHeader];
        return apiKey.Count == 1 ? apiKey[0]?.Trim() ?? "" : "";
    }
}
