using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Core.Cost;
using Shepherd.Llm.Storage;

namespace Shepherd.Llm;

/// <summary>
/// The paid-LLM path, wired once for every host that pays for LLM tokens (the orchestrator's answers, the CLI's
/// labelling): the Llm and Storage options (validated at start-up; an unpriced Llm:Model stops it), the
/// OpenAI-compatible client on <see cref="IHttpClientFactory"/> with its resilience pipeline, or without a key the
/// stand-in slm-service through the gRPC client factory, the hint cache, the group-commit ledger and
/// <see cref="PaidLlm"/>. The host registers the default <see cref="SlmService.SlmServiceClient"/> (the SLM, whose
/// tokenizer cuts a real LLM's cached answers).
/// </summary>
public static class PaidLlmServiceCollectionExtensions
{
    /// <param name="slmAddress">The SLM's address: the stand-in's when Llm:StandInAddress is empty.</param>
    /// <param name="standInNamedByAddress">
    /// Whether the stand-in's hint-cache source names its address; the CLI, which starts an slm-service on a fresh
    /// port each run, names it "stand-in:slm-service" so a resumed run finds its cached answers.
    /// </param>
    /// <returns>The stand-in's gRPC client, for the host's channel settings.</returns>
    public static IHttpClientBuilder AddPaidLlm(this IServiceCollection services, Func<IServiceProvider, string> slmAddress, bool standInNamedByAddress = true)
    {
        services.AddOptions<LlmOptions>().BindConfiguration(LlmOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmOptions>, LlmPricingValidation>());
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<LlmApiKey>();
        services.AddSingleton<LlmMetrics>();
        services.AddSingleton(sp => PaidLlmFactory.Prices(sp.GetRequiredService<IOptions<LlmOptions>>().Value));

        services.AddTransient<LlmAttemptHandler>();
        services.AddHttpClient(OpenAiChatClient.HttpClientName, (sp, client) => OpenAiChatClient.ConfigureHttpClient(client, sp.GetRequiredService<IOptions<LlmOptions>>().Value))
            .RedactLoggedHeaders(_ => true)
            .AddResilienceHandler(LlmResilience.PipelineName, (pipeline, context) => LlmResilience.Configure(
                pipeline, context.ServiceProvider.GetRequiredService<IOptions<LlmOptions>>().Value, context.ServiceProvider.GetRequiredService<TimeProvider>()))
            .Services.AddHttpClient(OpenAiChatClient.HttpClientName).AddHttpMessageHandler<LlmAttemptHandler>();

        // A client type of its own: a second registration of SlmServiceClient would take over the host's SLM client.
        var standIn = services.AddGrpcClient<StandInSlmServiceClient>((sp, o) => o.Address = new Uri(StandInAddress(sp, slmAddress)));
        services.AddSingleton(sp => new StandInSlmClient(
            sp.GetRequiredService<StandInSlmServiceClient>(),
            StandInAddress(sp, slmAddress),
            namedByAddress: standInNamedByAddress || !string.IsNullOrWhiteSpace(sp.GetRequiredService<IOptions<LlmOptions>>().Value.StandInAddress)));
        services.AddSingleton<ILlmClient>(sp => sp.GetRequiredService<LlmApiKey>().Value is null
            ? ActivatorUtilities.CreateInstance<StandInLlmClient>(sp)
            : ActivatorUtilities.CreateInstance<OpenAiChatClient>(sp));

        // Cached answers are cut with the tokenizer of whatever plays the LLM: the stand-in's own, else the SLM's.
        services.AddSingleton(sp => new TokenCutter(sp.GetRequiredService<ILlmClient>().IsStandIn
            ? sp.GetRequiredService<StandInSlmClient>().Client
            : sp.GetRequiredService<SlmService.SlmServiceClient>()));
        services.AddSingleton(sp => PaidLlmFactory.Ledger(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddSingleton(sp => PaidLlmFactory.HintCache(sp.GetRequiredService<IOptions<StorageOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new PaidLlm(
            sp.GetRequiredService<ILlmClient>(),
            sp.GetRequiredService<IOptions<StorageOptions>>().Value.HintCacheEnabled ? sp.GetRequiredService<HintCache>() : null,
            sp.GetRequiredService<PriceTable>(),
            sp.GetRequiredService<TokenCutter>(),
            sp.GetRequiredService<IOptions<StorageOptions>>(),
            sp.GetRequiredService<ILogger<PaidLlm>>(),
            sp.GetService<KeyBudgets>()));
        return standIn;
    }

    /// <summary>Llm:StandInAddress, else the SLM's address.</summary>
    public static string StandInAddress(IServiceProvider services, Func<IServiceProvider, string> slmAddress)
    {
        var configured = services.GetRequiredService<IOptions<LlmOptions>>().Value.StandInAddress;
        return string.IsNullOrWhiteSpace(configured) ? slmAddress(services) : configured;
    }
}

/// <summary>The gRPC client of the slm-service that plays the LLM (a type of its own in the client factory).</summary>
public sealed class StandInSlmServiceClient(CallInvoker callInvoker) : SlmService.SlmServiceClient(callInvoker);
