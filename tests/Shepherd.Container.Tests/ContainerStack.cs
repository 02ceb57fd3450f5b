using System.Security.Cryptography;
using System.Text;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Networks;
using Grpc.Core;
using Grpc.Net.Client;
using Shepherd.Contracts.V1;
using Shepherd.Core.Configuration;
using Shepherd.Policy.Model.Training;
using Shepherd.TestSupport;
using CorePolicyMode = Shepherd.Core.Policy.PolicyMode;

namespace Shepherd.Container.Tests;

/// <summary>
/// PostgreSQL, two slm replicas behind the one name "slm", the policy-service on demo bundles, two orchestrator
/// replicas behind the name "orchestrator" balancing over the slm replicas (dns:///slm:8080) with their ledger and
/// hint cache in the one PostgreSQL, and the edge (one YARP destination per orchestrator address) published on a
/// loopback port — on a network of the test's own. Each slm and orchestrator replica is also published on loopback
/// so a test can read its own counters or call it directly.
/// </summary>
public sealed class ContainerStack : IAsyncLifetime
{
    // The edge signs the key id it forwards; the orchestrator verifies it (a fresh secret per stack).
    private readonly string _identityKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>The headers the edge forwards for <paramref name="keyId"/>, signed with this stack's identity key.</summary>
    public Metadata SignedIdentity(string keyId) => SignedIdentityHeaders.For(_identityKey, keyId);

    public const int SlmReplicas = 2;
    public const int OrchestratorReplicas = 2;
    public const int DnsRefreshSeconds = 2;

    /// <summary>The SLM's price per million tokens here, so every answer costs something and Usage can be checked.</summary>
    public const double SlmUsdPerMillionTokens = 1.0;
    public const string ApiKey = "container-test-admin-key";
    public const string ApiKeyId = "container-admin";
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(15);

    private readonly List<IContainer> _containers = [];
    private readonly string _bundles = Directory.CreateTempSubdirectory("shepherd-container-bundles-").FullName;
    private INetwork? _network;
    private GrpcChannel? _edgeChannel;

    public string? SkipReason { get; private set; } = ContainerEngine.SkipReason;

    public IReadOnlyList<IContainer> Slms { get; private set; } = [];

    public IReadOnlyList<IContainer> Orchestrators { get; private set; } = [];

    public Uri EdgeAddress { get; private set; } = null!;

    public ShepherdService.ShepherdServiceClient Edge { get; private set; } = null!;

    public SlmService.SlmServiceClient EdgeSlm { get; private set; } = null!;

    public PolicyService.PolicyServiceClient EdgePolicy { get; private set; } = null!;

    public Metadata Auth { get; } = new() { { "authorization", "Bearer " + ApiKey } };

    public async Task InitializeAsync()
    {
        if (SkipReason is not null)
        {
            return;
        }

        await ContainerEngine.EnsureImagesAsync(BuildTimeout);
        var bundles = OperatingSystem.IsWindows() ? Task.CompletedTask : Task.Run(TrainDemoBundles);
        try
        {
            await bundles;
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

        // PostgreSQL, the policy-service and the slm replicas start together; the orchestrators need PostgreSQL.
        var postgres = StartAsync(new ContainerBuilder(ContainerEngine.ImageName("postgres"))
            .WithNetwork(_network).WithNetworkAliases("postgres")
            .WithEnvironment("POSTGRES_USER", "shepherd").WithEnvironment("POSTGRES_PASSWORD", "shepherd").WithEnvironment("POSTGRES_DB", "shepherd")
            .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("database system is ready to accept connections")));

        var policy = StartAsync(new ContainerBuilder(ContainerEngine.ImageName("policy"))
            .WithNetwork(_network).WithNetworkAliases("policy")
            .WithBindMount(_bundles, "/bundles", DotNet.Testcontainers.Configurations.AccessMode.ReadOnly)
            .WithEnvironment("Policy__BundlePath", "/bundles/proactive")
            .WithEnvironment("Policy__AdditionalBundlePaths__0", "/bundles/reactive")
            .WithEnvironment("Policy__EncoderThreads", "1")
            .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("Application started")));
        var slms = await Task.WhenAll(Enumerable.Range(0, SlmReplicas).Select(_ => StartAsync(SlmReplica())));
        Slms = slms;
        await policy;
        await postgres;

        Orchestrators = await Task.WhenAll(Enumerable.Range(0, OrchestratorReplicas).Select(_ => StartAsync(new ContainerBuilder(ContainerEngine.ImageName("orchestrator"))
            .WithNetwork(_network).WithNetworkAliases("orchestrator")
            .WithEnvironment("Orchestrator__SlmAddress", "dns:///slm:8080")
            .WithEnvironment("Orchestrator__PolicyAddress", "dns:///policy:8080")
            .WithEnvironment("Orchestrator__SlmMaxTokens", "16")
            .WithEnvironment("Orchestrator__SlmInputPerMillion", SlmUsdPerMillionTokens.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithEnvironment("Orchestrator__SlmOutputPerMillion", SlmUsdPerMillionTokens.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithEnvironment("Orchestrator__DnsRefreshSeconds", DnsRefreshSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithEnvironment("Llm__MaxAnswerTokens", "16")
            .WithEnvironment("Storage__PostgresConnectionString", "Host=postgres;Username=shepherd;Password=shepherd;Database=shepherd")
            .WithEnvironment("Identity__SigningKey", _identityKey)
            .WithPortBinding(8080, assignRandomHostPort: true)
            .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("Application started")))));

        var edge = await StartAsync(new ContainerBuilder(ContainerEngine.ImageName("edge"))
            .WithNetwork(_network)
            .WithEnvironment("DnsDestinations__RefreshPeriod", "00:00:02")
            .WithEnvironment("ReverseProxy__Clusters__orchestrator__Destinations__d1__Address", "http://orchestrator:8080")
            .WithEnvironment("ReverseProxy__Clusters__slm__Destinations__d1__Address", "http://slm:8080")
            .WithEnvironment("ReverseProxy__Clusters__policy__Destinations__d1__Address", "http://policy:8080")
            .WithEnvironment("Edge__ApiKeys__0__Id", ApiKeyId)
            .WithEnvironment("Edge__ApiKeys__0__Sha256", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ApiKey))))
            .WithEnvironment("Edge__ApiKeys__0__Admin", "true")
            .WithEnvironment("Identity__SigningKey", _identityKey)
            .WithEnvironment("Edge__ApiKeys__0__PermitsPerSecond", "1000")
            .WithEnvironment("Edge__ApiKeys__0__Burst", "1000")
            .WithPortBinding(8080, assignRandomHostPort: true)
            .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("Application started")));

        EdgeAddress = LoopbackAddress(edge);
        _edgeChannel = GrpcChannel.ForAddress(EdgeAddress);
        Edge = new ShepherdService.ShepherdServiceClient(_edgeChannel);
        EdgeSlm = new SlmService.SlmServiceClient(_edgeChannel);
        EdgePolicy = new PolicyService.PolicyServiceClient(_edgeChannel);
    }

    /// <summary>Demo bundles as `shepherd up` trains them (they exercise the machinery, not a quality policy), readable by the image's non-root user.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private void TrainDemoBundles()
    {
        foreach (var mode in new[] { CorePolicyMode.Proactive, CorePolicyMode.Reactive })
        {
            var directory = Path.Combine(_bundles, mode.ToString().ToLowerInvariant());
            PolicyTrainer.Train(SyntheticLabels.Generate(120, seed: 7, mode), new PolicyTrainingOptions { Mode = mode, MaxEpochs = 10 }).Save(directory);
        }

        foreach (var path in Directory.EnumerateFileSystemEntries(_bundles, "*", SearchOption.AllDirectories).Append(_bundles))
        {
            File.SetUnixFileMode(path, Directory.Exists(path)
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
    }

    /// <summary>Stops and removes one of the stack's containers now.</summary>
    public async Task RemoveAsync(IContainer container)
    {
        _containers.Remove(container);
        await container.DisposeAsync();
    }

    /// <summary>One more slm replica behind the name "slm", removed with the stack.</summary>
    public Task<IContainer> StartExtraSlmAsync() => StartAsync(SlmReplica());

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
        if (Directory.Exists(_bundles))
        {
            Directory.Delete(_bundles, recursive: true);
        }

        if (_network is not null)
        {
            await _network.DeleteAsync();
            await _network.DisposeAsync();
            _network = null;
        }
    }

    private async Task<IContainer> StartAsync(ContainerBuilder builder)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        for (var attempt = 1; ; attempt++)
        {
            var container = builder.WithAutoRemove(true).Build();
            _containers.Add(container);
            try
            {
                await container.StartAsync(cts.Token);
                return container;
            }
            catch (Docker.DotNet.DockerApiException ex) when (attempt < 3 && ex.ResponseBody?.Contains("broken pipe", StringComparison.Ordinal) == true)
            {
                // podman's runc sometimes loses its child while creating a container on a loaded machine ("write child:
                // broken pipe", HTTP 500); the container never ran, so a fresh one is started in its place.
                await container.DisposeAsync();
                _containers.Remove(container);
                await Task.Delay(TimeSpan.FromSeconds(2), cts.Token);
            }
        }
    }
}
