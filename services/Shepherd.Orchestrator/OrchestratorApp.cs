using Shepherd.Orchestrator.Grpc;
using Shepherd.Hosting;
using Shepherd.Orchestrator.OpenAi;
using Shepherd.ServiceDefaults;

namespace Shepherd.Orchestrator;

/// <summary>Builds the orchestrator host; Program runs it, tests start it on 127.0.0.1.</summary>
public static class OrchestratorApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddShepherdServiceDefaults();
        builder.AddOrchestratorServices();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapGrpcService<ShepherdGrpcService>();
        app.MapOpenAiApi();
        app.MapDefaultEndpoints();
        return app;
    }
}
