using System.Collections.Concurrent;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shepherd.Contracts.V1;
using Shepherd.Edge.Auth;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace Shepherd.Edge.Tests;

public sealed record TestKey(string Id, string Secret, bool Admin, int PermitsPerSecond, int Burst);

/// <summary>The real edge (EdgeApp.Build, shipped appsettings.json) on 127.0.0.1 in front of fake upstreams.</summary>
public sealed class EdgeHarness : IAsyncDisposable
{
    public static readonly TestKey TeamA = new("team-a", "sk-team-a-0123456789", false, 1000, 1000);
    public static readonly TestKey TeamB = new("team-b", "sk-team-b-9876543210", false, 1000, 1000);
    public static readonly TestKey Operator = new("operator", "sk-admin-abcdefabcdef", true, 1000, 1000);
    public static readonly TestKey Slow = new("slow", "sk-slow-555555555555", false, 1, 3);

    private static readonly TestKey[] Keys = [TeamA, TeamB, Operator, Slow];

    private readonly WebApplication _edge;

    private EdgeHarness(WebApplication edge, FakeUpstream[] replicas, FakeUpstream admin, Uri address, ConcurrentQueue<string> logs)
    {
        _edge = edge;
        Replicas = replicas;
        Admin = admin;
        Address = address;
        Logs = logs;
        Channel = GrpcChannel.ForAddress(address);
    }

    public FakeUpstream[] Replicas { get; }

    public FakeUpstream Admin { get; }

    public Uri Address { get; }

    public GrpcChannel Channel { get; }

    /// <summary>Every message the edge logged, with exception text.</summary>
    public ConcurrentQueue<string> Logs { get; }

    public ShepherdService.ShepherdServiceClient Client => new(Channel);

    public IServiceProvider Services => _edge.Services;

    /// <summary>The edge signs forwarded identities with this; the fake upstreams verify with it.</summary>
    public const string IdentityKey = "edge-tests-identity-signing-key-0123456789";

    public static Metadata Bearer(TestKey key) => new() { { "authorization", $"Bearer {key.Secret}" } };

    public static async Task<EdgeHarness> StartAsync(int replicas = 2, Action<IConfiguration>? configure = null)
    {
        var upstreams = new FakeUpstream[replicas];
        for (var i = 0; i < replicas; i++)
        {
            upstreams[i] = await FakeUpstream.StartAsync($"replica-{i + 1}");
        }

        var admin = await FakeUpstream.StartAsync("slm-1");
        var logs = new ConcurrentQueue<string>();
        var edge = EdgeApp.Build(["--urls", "http://127.0.0.1:0"], b =>
        {
            var c = b.Configuration;
            c["Logging:LogLevel:Default"] = "Warning";
            c["Logging:LogLevel:Shepherd"] = "Debug";
            c["ReverseProxy:Clusters:orchestrator:Destinations:d1:Address"] = upstreams[0].Address.ToString();
            for (var i = 1; i < replicas; i++)
            {
                c[Invariant($"ReverseProxy:Clusters:orchestrator:Destinations:d{i + 1}:Address")] = upstreams[i].Address.ToString();
            }

            c["Identity:SigningKey"] = IdentityKey;
            c["ReverseProxy:Clusters:slm:Destinations:d1:Address"] = admin.Address.ToString();
            c["ReverseProxy:Clusters:policy:Destinations:d1:Address"] = admin.Address.ToString();
            c["ReverseProxy:Clusters:orchestrator:HealthCheck:Active:Interval"] = "00:00:00.250";
            c["ReverseProxy:Clusters:orchestrator:HealthCheck:Active:Timeout"] = "00:00:00.500";
            for (var i = 0; i < Keys.Length; i++)
            {
                var key = Keys[i];
                c[Invariant($"Edge:ApiKeys:{i}:Id")] = key.Id;
                c[Invariant($"Edge:ApiKeys:{i}:Sha256")] = ApiKeyHasher.Hash(key.Secret);
                c[Invariant($"Edge:ApiKeys:{i}:Admin")] = key.Admin ? "true" : "false";
                c[Invariant($"Edge:ApiKeys:{i}:PermitsPerSecond")] = Invariant($"{key.PermitsPerSecond}");
                c[Invariant($"Edge:ApiKeys:{i}:Burst")] = Invariant($"{key.Burst}");
            }

            configure?.Invoke(c);
            b.Logging.AddProvider(new CapturingLoggerProvider(logs));
        });
        await edge.StartAsync();
        var address = edge.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new EdgeHarness(edge, upstreams, admin, new Uri(address), logs);
    }

    /// <summary>The edge's current view of an orchestrator destination's active health.</summary>
    public DestinationHealth ActiveHealth(string destinationId)
    {
        var lookup = _edge.Services.GetRequiredService<IProxyStateLookup>();
        // The DNS destination resolver names each address of a configured destination "d1[127.0.0.1]".
        var destination = lookup.TryGetCluster("orchestrator", out var cluster)
            ? cluster.Destinations.FirstOrDefault(d => d.Key == destinationId || d.Key.StartsWith(destinationId + "[", StringComparison.Ordinal)).Value
            : null;
        return destination?.Health.Active ?? DestinationHealth.Unknown;
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _edge.StopAsync();
        await _edge.DisposeAsync();
        foreach (var upstream in Replicas)
        {
            await upstream.DisposeAsync();
        }

        await Admin.DisposeAsync();
    }

    private static string Invariant(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);

    private sealed class CapturingLoggerProvider(ConcurrentQueue<string> logs) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new CapturingLogger(logs);

        public void Dispose()
        {
        }
    }

    private sealed class CapturingLogger(ConcurrentQueue<string> logs) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            logs.Enqueue($"{formatter(state, exception)} {exception}");
    }
}

/// <summary>One edge with two replicas shared by the tests that do not stop anything.</summary>
public sealed class EdgeFixture : IAsyncLifetime
{
    public EdgeHarness Harness { get; private set; } = null!;

    public async Task InitializeAsync() => Harness = await EdgeHarness.StartAsync();

    public async Task DisposeAsync() => await Harness.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class EdgeCollection : ICollectionFixture<EdgeFixture>
{
    public const string Name = "edge";
}
