using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Shepherd.Contracts.V1;
using Shepherd.ServiceDefaults;

namespace Shepherd.Hosting;

public static class ShepherdHostingExtensions
{
    /// <summary>
    /// <see cref="Extensions.AddServiceDefaults"/>, plus Shepherd's domain: its exceptions mapped to statuses and
    /// every request message of shepherd.v1 (slm, policy, public API) checked before a handler runs.
    /// </summary>
    public static WebApplicationBuilder AddShepherdServiceDefaults(this WebApplicationBuilder builder)
    {
        builder.AddServiceDefaults();
        builder.Services.AddSingleton<IExceptionStatusMapper, ShepherdExceptionMapper>();
        builder.Services.Configure<MalformedMessageOptions>(o =>
            o.Contracts.AddRange([SlmReflection.Descriptor, PolicyReflection.Descriptor, ShepherdReflection.Descriptor]));
        return builder;
    }
}
