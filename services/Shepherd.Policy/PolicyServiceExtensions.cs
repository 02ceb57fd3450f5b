using Microsoft.Extensions.Options;

namespace Shepherd.Policy;

public static class PolicyServiceExtensions
{
    /// <summary>Options (validated at start), the bundle registry (loaded at start) and gRPC.</summary>
    public static WebApplicationBuilder AddPolicyServices(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<PolicyServiceOptions>()
            .BindConfiguration(PolicyServiceOptions.Section)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<PolicyServiceOptions>, PolicyServiceOptionsValidator>();
        builder.Services.AddSingleton<Batching.PolicyMetrics>();
        builder.Services.AddSingleton<PolicyRegistry>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PolicyRegistry>());
        builder.Services.AddGrpc();
        return builder;
    }
}
