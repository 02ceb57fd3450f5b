using Microsoft.Extensions.Options;
using Shepherd.Edge.Auth;

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

        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
        return builder;
    }
}
