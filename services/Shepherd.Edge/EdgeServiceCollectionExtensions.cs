using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Shepherd.Edge.Auth;
using Shepherd.ServiceDefaults;
using Shepherd.ServiceDefaults.Identity;

namespace Shepherd.Edge;

public static class EdgeServiceCollectionExtensions
{
    public static WebApplicationBuilder AddEdgeServices(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<EdgeOptions>()
            .BindConfiguration(EdgeOptions.Section)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<EdgeOptions>, EdgeOptionsValidator>();
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddSingleton<EdgeMetrics>();
        builder.Services.AddIdentitySigning();
        builder.Services.AddSingleton<IdentityForwarder>();

        // Without TLS there is no ALPN, and Kestrel serves an Http1AndHttp2 endpoint as HTTP/1.1 only: gRPC (h2c, prior
        // knowledge) keeps the --urls ports, and HTTP/1.1 clients (gRPC-Web from browsers, OpenAI SDKs, curl) get the
        // port of Edge:Http1Url, added to the server's addresses by EdgeApp.
        // Read when the endpoints are bound, so configuration added after this call (tests, benchmarks) counts too.
        // Kestrel keeps one endpoint-defaults action, so this one replaces ServiceDefaults' and must keep the metrics
        // listener (Metrics:Url) on HTTP/1.1 as well.
        var configuration = builder.Configuration;
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(e =>
            e.Protocols = e.IPEndPoint?.Port is { } port
                && (EdgeOptions.Http1Port(configuration[$"{EdgeOptions.Section}:{nameof(EdgeOptions.Http1Url)}"]) == port
                    || configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>()?.Port == port)
                ? HttpProtocols.Http1
                : HttpProtocols.Http2));

        // Each destination's host name is resolved to every address behind it (a compose alias or a headless
        // Service with N orchestrator replicas) and each address becomes a destination of its own, health-checked
        // and balanced like any other; the name is resolved again every DnsDestinations:RefreshPeriod.
        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddDnsDestinationResolver(o => builder.Configuration.GetSection("DnsDestinations").Bind(o));
        return builder;
    }
}
