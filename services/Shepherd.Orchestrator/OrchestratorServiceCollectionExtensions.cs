using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Core.Cost;
using Shepherd.Core.Tasks;
using Shepherd.Llm;
using Shepherd.Orchestrator.Grpc;
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
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ => TaskRegistry.Shared);

        // Downstream gRPC clients: every call carries a deadline (set per call) and the caller's cancellation.
        // A dns:/// address balances round robin over every address of the name (a compose alias or a headless
        // Service with N replicas), re-resolved on a connection failure and every DnsRefreshSeconds.
        services.AddSingleton<ResolverFactory>(sp => new PeriodicDnsResolverFactory(
            TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value.DnsRefreshSeconds), sp.GetRequiredService<TimeProvider>()));
        services.AddGrpcClient<SlmService.SlmServiceClient>((sp, o) => o.Address = new Uri(sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value.SlmAddress))
            .ConfigureChannel((sp, o) => ConfigureChannel(o, sp, sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value.SlmAddress))
            .ConfigurePrimaryHttpMessageHandler(DeadPeerAwareHandler);
        // Resolved only when Orchestrator:PolicyAddress is set (PolicyGateway); without it there is no client.
        services.AddGrpcClient<PolicyService.PolicyServiceClient>((sp, o) => o.Address = new Uri(sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value.PolicyAddress))
            .ConfigureChannel((sp, o) => ConfigureChannel(o, sp, sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value.PolicyAddress))
            .ConfigurePrimaryHttpMessageHandler(DeadPeerAwareHandler);
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value;
            var client = string.IsNullOrWhiteSpace(options.PolicyAddress) ? null : sp.GetRequiredService<PolicyService.PolicyServiceClient>();
            return new PolicyGateway(client, sp.GetRequiredService<IOptions<OrchestratorOptions>>(), sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<SlmGateway>(sp => new SlmGateway(
            sp.GetRequiredService<SlmService.SlmServiceClient>(), sp.GetRequiredService<IOptions<OrchestratorOptions>>(), sp.GetRequiredService<TimeProvider>()));

        // The paid LLM (shared with the CLI); a stand-in slm-service gets the same channel settings as the SLM.
        services.AddPaidLlm(SlmAddress)
            .ConfigureChannel((sp, o) => ConfigureChannel(o, sp, PaidLlmServiceCollectionExtensions.StandInAddress(sp, SlmAddress)))
            .ConfigurePrimaryHttpMessageHandler(DeadPeerAwareHandler);
        services.AddSingleton<LlmGateway>();

        // Per-key budgets (PaidLlm reserves against them before a paid call): PostgreSQL with the ledger, else SQLite.
        services.AddOptions<KeyBudgetOptions>().BindConfiguration(KeyBudgetOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => KeyBudgets.Create(
            sp.GetRequiredService<IOptions<StorageOptions>>().Value, sp.GetRequiredService<IOptions<KeyBudgetOptions>>().Value, sp.GetRequiredService<TimeProvider>()));

        services.AddSingleton<LiveExecutor>();
        services.AddSingleton<AnswerPipeline>();
        services.AddSingleton<AnswerMetrics>();
        services.AddIdentitySigning();
        services.AddSingleton<Grpc.CallerIdentity>();
        services.AddHostedService<StartupReport>();
        return builder;
    }

    private static string SlmAddress(IServiceProvider services) => services.GetRequiredService<IOptions<OrchestratorOptions>>().Value.SlmAddress;

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
}

/// <summary>Says at start-up which LLM answers (a real endpoint or the stand-in) and where the ledger lives.</summary>
/// <remarks>Resolving the ledger and the key budgets here creates their tables at start-up, not on the first request.</remarks>
internal sealed class StartupReport(ILlmClient llm, LlmApiKey key, IOptions<LlmOptions> llmOptions, IOptions<StorageOptions> storage, ILedger ledger, KeyBudgets budgets, IServiceProvider services, ILogger<StartupReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (llm.IsStandIn)
        {
            OrchestratorLog.UsingStandIn(logger, llm.Endpoint);
        }
        else
        {
            OrchestratorLog.UsingLlm(logger, llm.Model, llmOptions.Value.BaseUrl, key.Source);
        }

        _ = budgets;
        OrchestratorLog.LedgerStore(logger, ledger is PostgresLedger ? "PostgreSQL (the hint cache too)" : $"SQLite {Path.GetFullPath(storage.Value.SqlitePath)}");
        if (storage.Value.HintCacheEnabled && services.GetRequiredService<HintCache>().DiscardedLegacyEntries is > 0 and var discarded)
        {
            OrchestratorLog.DiscardedLegacyHintCache(logger, discarded);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
