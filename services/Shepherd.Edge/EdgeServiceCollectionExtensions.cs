using Microsoft.Extensions.Options;
using Shepherd.Edge.Auth;
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

        // Each destination's host name is resolved to every address behind it (a compose alias or a headless
        // Service with N orchestrator replicas) and each address becomes a destination of its own, health-checked
        // and balanced like any other; the name is resolved again every DnsDestinations:RefreshPeriod.
        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddDnsDestinationResolver(o => builder.Configuration.GetSection("DnsDestinations").Bind(o));
        return builder;
    }
}
