using Grpc.Core;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Shepherd.Edge.Proxy;

/// <summary>
/// Wraps load balancing and forwarding. A request whose connect to the chosen destination failed is sent to
/// another healthy destination (nothing reached the first, so nothing runs twice); any other forwarding failure
/// that left the response unstarted becomes a gRPC status instead of YARP's bare 502/504.
/// </summary>
internal sealed class UpstreamFailureMiddleware(RequestDelegate next, IOptions<EdgeOptions> options, ILogger<UpstreamFailureMiddleware> logger)
{
    private readonly int _connectRetries = options.Value.ConnectRetries;

    public async Task InvokeAsync(HttpContext context)
    {
        var proxy = context.GetReverseProxyFeature();
        // Load balancing narrows this list to the one destination it picked; keep the full one for a retry.
        var candidates = proxy.AvailableDestinations;
        for (var attempt = 0; ; attempt++)
        {
            await next(context);
            var failure = context.Features.Get<IForwarderErrorFeature>();
            if (failure is null || context.Response.HasStarted)
            {
                return;
            }

            var failed = proxy.ProxiedDestination;
            var cluster = proxy.Route.Cluster?.ClusterId ?? "";
            if (attempt < _connectRetries && failed is not null && IsConnectFailure(failure))
            {
                candidates = candidates.Where(d => !ReferenceEquals(d, failed)).ToArray();
                if (candidates.Count > 0)
                {
                    EdgeLog.ConnectRetry(logger, failed.DestinationId, cluster);
                    context.Features.Set<IForwarderErrorFeature?>(null);
                    context.Response.StatusCode = StatusCodes.Status200OK;
                    proxy.AvailableDestinations = candidates;
                    continue;
                }
            }

            EdgeLog.UpstreamFailed(logger, cluster, failed?.DestinationId ?? "(none)", context.Request.Path.Value ?? "", failure.Error.ToString());
            var (status, message) = failure.Error switch
            {
                ForwarderError.RequestTimedOut => (StatusCode.DeadlineExceeded, "upstream timed out"),
                ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled => (StatusCode.Cancelled, "call cancelled"),
                ForwarderError.NoAvailableDestinations => (StatusCode.Unavailable, "no healthy upstream"),
                _ => (StatusCode.Unavailable, "upstream unavailable"),
            };
            await GrpcStatusResponse.WriteAsync(context, status, message);
            return;
        }
    }

    private static bool IsConnectFailure(IForwarderErrorFeature failure) =>
        failure.Error == ForwarderError.Request
        && failure.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError };
}
