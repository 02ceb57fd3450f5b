using Shepherd.Hosting;
using Shepherd.ServiceDefaults;
using Shepherd.Slm.Grpc;

namespace Shepherd.Slm;

/// <summary>Builds the slm-service host; Program runs it, functional tests start it on 127.0.0.1.</summary>
public static class SlmApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddShepherdServiceDefaults();
        builder.AddSlmServices();
        configure?.Invoke(builder);

        var app = builder.Build();
        // The queue gauges exist from start-up, not from the first request: the HPA reads them at 0.
        app.Services.GetRequiredService<Inference.SlmMetrics>();
        app.MapGrpcService<SlmGrpcService>();
        app.MapDefaultEndpoints();
        return app;
    }
}
