using Shepherd.Slm.Grpc;
using Shepherd.Slm.Inference;
using Shepherd.Slm.Model;

namespace Shepherd.Slm;

public static class SlmServiceCollectionExtensions
{
    public static WebApplicationBuilder AddSlmServices(this WebApplicationBuilder builder)
    {
        // SHEPHERD_SLM_MODEL is the short form of Slm__ModelPath.
        if (Environment.GetEnvironmentVariable("SHEPHERD_SLM_MODEL") is { Length: > 0 } modelPath)
        {
            builder.Configuration[$"{SlmOptions.SectionName}:{nameof(SlmOptions.ModelPath)}"] = modelPath;
        }

        builder.Services.AddOptions<SlmOptions>()
            .BindConfiguration(SlmOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => !string.IsNullOrWhiteSpace(o.ModelPath), "Slm:ModelPath is required (or set SHEPHERD_SLM_MODEL)")
            .ValidateOnStart();
        builder.Services.AddSingleton<LlamaModel>();
        builder.Services.AddSingleton<PromptRenderer>();
        builder.Services.AddSingleton<SlmInputBuilder>();
        builder.Services.AddSingleton<GenerationEngine>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<GenerationEngine>());
        builder.Services.AddSingleton<SlmMetrics>();
        builder.Services.AddHealthChecks().AddCheck<EngineHealthCheck>("slm-decode-loop", tags: ["live"]);
        builder.Services.AddHostedService<ModelWarmup>();
        return builder;
    }
}

/// <summary>Loads the model at start-up (not on the first request), so a bad file stops the host at once.</summary>
internal sealed class ModelWarmup(LlamaModel model, ILogger<ModelWarmup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        SlmLog.ModelLoaded(logger, model.Name, model.Path, model.ContextSize, model.VocabSize, model.ChatTemplate is not null, LlamaModel.Backend, model.Threads);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
