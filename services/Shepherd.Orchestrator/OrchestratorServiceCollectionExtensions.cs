using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Core.Cost;
using Shepherd.Core.Tasks;
using Shepherd.Llm;
using Shepherd.Orchestrator.Pipeline;
using Shepherd.Llm.Storage;
using Shepherd.Orchestrator.Strategies;
using Shepherd.ServiceDefaults.Identity;

namespace Shepherd.Orchestrator;

public static class OrchestratorServiceCollectionExtensions
{
    public static WebApplicationBuilder AddOrchestratorServices(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<OrchestratorOptions>().BindConfiguration(OrchestratorOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LlmOptions>().BindConfiguration(LlmOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<LlmOptions>, LlmPricingValidation>();
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ => TaskRegistry.Shared);

        // Downstream gRPC clients: every call carries a deadline (set per call) and the caller's cancellation.
        // A dns:/// address balances round robin over every address of the name (a compose alias or a headless
        // Service with N replicas), re-resolved on a connection failure and every DnsRefreshSeconds.
        services.AddSingleton<ResolverFactory>(sp => new DnsResolverFactory(
            TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value.DnsRefreshSeconds)));
        services.AddGrpcClient<SlmService.SlmServiceClient>((sp, o) => o.Address = new Uri(sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value.SlmAddress))
            .ConfigureChannel((sp, o) => ConfigureChannel(o, sp, sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value.SlmAddress))
            .ConfigurePrimaryHttpMessageHandler(DeadPeerAwareHandler);
        services.AddGrpcClient<PolicyService.PolicyServiceClient>((sp, o) =>
        {
            var address = sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value.PolicyAddress;
            o.Address = new Uri(string.IsNullOrWhiteSpace(address) ? "http://127.0.0.1:1" : address);
        }).ConfigureChannel((sp, o) => ConfigureChannel(o, sp, sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value.PolicyAddress))
            .ConfigurePrimaryHttpMessageHandler(DeadPeerAwareHandler);
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value;
            var client = string.IsNullOrWhiteSpace(options.PolicyAddress) ? null : sp.GetRequiredService<PolicyService.PolicyServiceClient>();
            return new PolicyGateway(client, sp.GetRequiredService<IOptions<OrchestratorOptions>>(), sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<SlmGateway>(sp => new SlmGateway(
            sp.GetRequiredService<SlmService.SlmServiceClient>(), sp.GetRequiredService<IOptions<OrchestratorOptions>>(), sp.GetRequiredService<TimeProvider>()));

        AddLlm(services);
        AddStorage(services);

        services.AddSingleton<LiveExecutor>();
        services.AddSingleton<AnswerPipeline>();
        services.AddSingleton<AnswerMetrics>();
        services.AddIdentitySigning();
        services.AddSingleton<Grpc.CallerIdentity>();
        services.AddHostedService<StartupReport>();
        return builder;
    }

    private static void AddLlm(IServiceCollection services)
    {
        services.AddSingleton<LlmApiKey>();
        services.AddSingleton<LlmMetrics>();
        services.AddSingleton(sp => PaidLlmFactory.Prices(sp.GetRequiredService<IOptions<LlmOptions>>().Value));
        services.AddHttpClient<OpenAiChatClient>();
        services.AddSingleton(sp =>
        {
            var llm = sp.GetRequiredService<IOptions<LlmOptions>>().Value;
            var address = string.IsNullOrWhiteSpace(llm.StandInAddress) ? sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value.SlmAddress : llm.StandInAddress;
            var channelOptions = new GrpcChannelOptions { ServiceProvider = sp, HttpHandler = DeadPeerAwareHandler(), DisposeHttpClient = true };
            ConfigureChannel(channelOptions, sp, address);
            var channel = GrpcChannel.ForAddress(address, channelOptions);
            return new StandInSlmClient(new SlmService.SlmServiceClient(channel), address);
        });
        services.AddSingleton<ILlmClient>(sp => sp.GetRequiredService<LlmApiKey>().Value is null
            ? ActivatorUtilities.CreateInstance<StandInLlmClient>(sp)
            : sp.GetRequiredService<OpenAiChatClient>());
        services.AddSingleton(sp =>
        {
            // Cut cached answers with the tokenizer of whatever plays the LLM: the stand-in's own, else the SLM's.
            var llm = sp.GetRequiredService<ILlmClient>();
            return new TokenCutter(llm.IsStandIn ? sp.GetRequiredService<StandInSlmClient>().Client : sp.GetRequiredService<SlmService.SlmServiceClient>());
        });
        services.AddSingleton(sp => new PaidLlm(
            sp.GetRequiredService<ILlmClient>(),
            sp.GetRequiredService<IOptions<StorageOptions>>().Value.HintCacheEnabled ? sp.GetRequiredService<HintCache>() : null, sp.GetRequiredService<ILedger>(), sp.GetRequiredService<PriceTable>(),
            sp.GetRequiredService<TokenCutter>(), sp.GetRequiredService<IOptions<StorageOptions>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<LlmGateway>();
    }

    /// <summary>
    /// A replica that vanishes without a reset (a removed container, a dead node) leaves a connection that looks open:
    /// HTTP/2 pings find it within seconds and a bounded connect never waits on an address that drops packets, so the
    /// balancer moves calls to the replicas that remain instead of letting them meet their deadline.
    /// </summary>
    private static SocketsHttpHandler DeadPeerAwareHandler() => new()
    {
        EnableMultipleHttp2Connections = true,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        KeepAlivePingDelay = TimeSpan.FromSeconds(2),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(2),
        KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
    };

    private static void ConfigureChannel(GrpcChannelOptions channel, IServiceProvider services, string address)
    {
        var options = services.GetRequiredService<IOptions<OrchestratorOptions>>().Value;
        channel.InitialReconnectBackoff = TimeSpan.FromMilliseconds(options.ReconnectInitialBackoffMs);
        channel.MaxReconnectBackoff = TimeSpan.FromMilliseconds(Math.Max(options.ReconnectMaxBackoffMs, options.ReconnectInitialBackoffMs));
        if (address.StartsWith("dns:", StringComparison.OrdinalIgnoreCase))
        {
            // HTTP/2 pins a channel to one connection: without round_robin every call would go to the first address.
            channel.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } };
            channel.Credentials = ChannelCredentials.Insecure;
        }
    }

    private static void AddStorage(IServiceCollection services)
    {
        services.AddSingleton(sp => PaidLlmFactory.Ledger(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddSingleton(sp =>
        {
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return new HintCache(storage.SqlitePath, storage.HintCacheMaxEntries, TimeSpan.FromHours(storage.HintCacheTtlHours), sp.GetRequiredService<TimeProvider>());
        });
    }
}

/// <summary>Says at start-up which LLM answers (a real endpoint or the stand-in) and where the ledger lives.</summary>
internal sealed class StartupReport(ILlmClient llm, LlmApiKey key, IOptions<LlmOptions> llmOptions, IOptions<StorageOptions> storage, IOptions<OrchestratorOptions> orchestrator, ILedger ledger, IServiceProvider services, ILogger<StartupReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (llm.IsStandIn)
        {
            var address = string.IsNullOrWhiteSpace(llmOptions.Value.StandInAddress) ? orchestrator.Value.SlmAddress : llmOptions.Value.StandInAddress;
            OrchestratorLog.UsingStandIn(logger, address);
        }
        else
        {
            OrchestratorLog.UsingLlm(logger, llm.Model, llmOptions.Value.BaseUrl, key.Source);
        }

        OrchestratorLog.LedgerStore(logger, ledger is PostgresLedger ? "PostgreSQL" : $"SQLite {Path.GetFullPath(storage.Value.SqlitePath)}");
        if (storage.Value.HintCacheEnabled && services.GetRequiredService<HintCache>().DiscardedLegacyEntries is > 0 and var discarded)
        {
            OrchestratorLog.DiscardedLegacyHintCache(logger, discarded);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
