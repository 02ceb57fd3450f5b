using Shepherd.Policy.Grpc;
using Shepherd.Hosting;
using Shepherd.ServiceDefaults;

namespace Shepherd.Policy;

/// <summary>The policy-service host: service defaults, the policy registrations, the gRPC endpoint.</summary>
public static class PolicyServiceHost
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddShepherdServiceDefaults();
        builder.AddPolicyServices();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapGrpcService<PolicyGrpcService>();
        app.MapDefaultEndpoints();
        return app;
    }
}
