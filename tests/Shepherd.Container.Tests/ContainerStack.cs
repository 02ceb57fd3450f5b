using System.Security.Cryptography;
using System.Text;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Networks;
using Grpc.Core;
using Grpc.Net.Client;
using Shepherd.Contracts.V1;
using Shepherd.Core.Configuration;

namespace Shepherd.Container.Tests;

/// <summary>
/// PostgreSQL, two slm replicas behind the one name "slm", an orchestrator balancing over them (dns:///slm:8080)
/// with its ledger in PostgreSQL, and the edge published on a loopback port — on a network of the test's own.
/// Each slm replica is also published on loopback so a test can read its own counters.
/// </summary>
public sealed class ContainerStack : IAsyncLifetime
{
    // The edge signs the key id it forwards; the orchestrator verifies it (a fresh secret per stack).
    private readonly string _identityKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public const int SlmReplicas = 2;
    public const int DnsRefreshSeconds = 2;
    public const string ApiKey = "container-test-admin-key";
    public const string ApiKeyId = "container-admin";
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(15);

    private readonly List<IContainer> _containers = [];
    private INetwork? _network;
    private GrpcChannel? _edgeChannel;

    public string? SkipReason { get; private set; } = ContainerEngine.SkipReason;

    public IReadOnlyList<IContainer> Slms { get; private set; } = [];

    public ShepherdService.ShepherdServiceClient Edge { get; private set; } = null!;

    public SlmService.SlmServiceClient EdgeSlm { get; private set; } = null!;

    public Metadata Auth { get; } = new() { { "authorization", "Bearer " + ApiKey } };

    public async Task InitializeAsync()
    {
        if (SkipReason is not null)
        {
            return;
        }

        await ContainerEngine.EnsureImagesAsync(BuildTimeout);
        try
        {
            await StartStackAsync();
        }
        catch
        {
            // xUnit does not dispose a fixture whose initialisation failed: remove what was started here.
            await DisposeAsync();
            throw;
        }
    }

    private async Task StartStackAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        _network = new NetworkBuilder().WithName("shepherd-test-" + suffix).Build();
        await _network.CreateAsync();

        await StartAsync(new ContainerBuilder(ContainerEngine.ImageName("postgres"))
            .WithNetwork(_network).WithNetworkAliases("postgres")
            .WithEnvironment("POSTGRES_USER", "shepherd").WithEnvironment("POSTGRES_PASSWORD", "shepherd").WithEnvironment("POSTGRES_DB", "shepherd")
            .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("database system is ready to accept connections")));

        var slms = await Task.WhenAll(Enumerable.Range(0, SlmReplicas).Select(_ => StartAsync(SlmReplica())));
        Slms = slms;

        await StartAsync(new ContainerBuilder(ContainerEngine.ImageName("orchestrator"))
            .WithNetwork(_network).WithNetworkAliases("orchestrator")
            .WithEnvironment("Orchestrator__SlmAddress", "dns:///slm:8080")
            .WithEnvironment("Orchestrator__PolicyAddress", "")
            .WithEnvironment("Orchestrator__SlmMaxTokens", "16")
            .WithEnvironment("Orchestrator__DnsRefreshSeconds", DnsRefreshSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithEnvironment("Storage__PostgresConnectionString", "Host=postgres;Username=shepherd;Password=shepherd;Database=shepherd")
            .WithEnvironment("Identity__SigningKey", _identityKey)
            .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("Application started")));

        var edge = await StartAsync(new ContainerBuilder(ContainerEngine.ImageName("edge"))
            .WithNetwork(_network)
            .WithEnvironment("DnsDestinations__RefreshPeriod", "00:00:02")
            .WithEnvironment("ReverseProxy__Clusters__orchestrator__Destinations__d1__Address", "http://orchestrator:8080")
            .WithEnvironment("ReverseProxy__Clusters__slm__Destinations__d1__Address", "http://slm:8080")
            .WithEnvironment("ReverseProxy__Clusters__policy__Destinations__d1__Address", "http://127.0.0.1:1")
            .WithEnvironment("Edge__ApiKeys__0__Id", ApiKeyId)
            .WithEnvironment("Edge__ApiKeys__0__Sha256", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ApiKey))))
            .WithEnvironment("Edge__ApiKeys__0__Admin", "true")
            .WithEnvironment("Identity__SigningKey", _identityKey)
            .WithEnvironment("Edge__ApiKeys__0__PermitsPerSecond", "1000")
            .WithEnvironment("Edge__ApiKeys__0__Burst", "1000")
            .WithPortBinding(8080, assignRandomHostPort: true)
            .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("Application started")));

        _edgeChannel = GrpcChannel.ForAddress(LoopbackAddress(edge));
        Edge = new ShepherdService.ShepherdServiceClient(_edgeChannel);
        EdgeSlm = new SlmService.SlmServiceClient(_edgeChannel);
    }

    /// <summary>One more slm replica behind the name "slm"; the caller stops and disposes it.</summary>
    public async Task<IContainer> StartExtraSlmAsync()
    {
        var container = SlmReplica().WithAutoRemove(true).Build();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await container.StartAsync(cts.Token);
        return container;
    }

    private ContainerBuilder SlmReplica() => new ContainerBuilder(ContainerEngine.ImageName("slm"))
        .WithNetwork(_network).WithNetworkAliases("slm")
        .WithBindMount(ShepherdPaths.ModelsDirectory!, "/models", DotNet.Testcontainers.Configurations.AccessMode.ReadOnly)
        .WithEnvironment("Slm__ModelPath", "/models/stories260K.gguf")
        .WithEnvironment("Slm__Threads", "1")
        .WithPortBinding(8080, assignRandomHostPort: true)
        .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("Application started"));

    public static Uri LoopbackAddress(IContainer container) => new($"http://127.0.0.1:{container.GetMappedPublicPort(8080)}");

    public async Task DisposeAsync()
    {
        _edgeChannel?.Dispose();
        foreach (var container in Enumerable.Reverse(_containers))
        {
            await container.DisposeAsync();
        }

        _containers.Clear();
        if (_network is not null)
        {
            await _network.DeleteAsync();
            await _network.DisposeAsync();
            _network = null;
        }
    }

    private async Task<IContainer> StartAsync(ContainerBuilder builder)
    {
        var container = builder.WithAutoRemove(true).Build();
        _containers.Add(container);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await container.StartAsync(cts.Token);
        return container;
    }
}
