using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Shepherd.ServiceDefaults.Identity;

public static class IdentityServiceCollectionExtensions
{
    /// <summary>The "Identity" options, validated at start-up, and the clock signatures are checked against.</summary>
    public static IServiceCollection AddIdentitySigning(this IServiceCollection services)
    {
        services.AddOptions<IdentityOptions>().BindConfiguration(IdentityOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<IdentityOptions>, IdentityOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}
