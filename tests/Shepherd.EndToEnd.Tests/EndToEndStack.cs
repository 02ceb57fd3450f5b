using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using Shepherd.Cli.Hosting;
using Shepherd.Contracts.V1;
using Shepherd.Core.Configuration;
using Shepherd.EndToEnd.Tests.Telemetry;
using Shepherd.TestSupport;

namespace Shepherd.EndToEnd.Tests;

/// <summary>An API key the edge accepts: its secret reaches the edge only as a SHA-256 hex.</summary>
public sealed record TestKey(string Id, string Secret, bool Admin = false, int PermitsPerSecond = 100, int Burst = 200)
{
    public Metadata Headers => new() { { "authorization", $"Bearer {Secret}" } };

    /// <summary>
    /// Asserts what this key's bucket must refuse of <paramref name="sent"/> calls sent together within
    /// <paramref name="elapsed"/>. The edge adds <see cref="PermitsPerSecond"/> on each tick of a one-second timer, so
    /// at most the full bucket plus one refill per tick that fell among the calls pass; and at least one call is
    /// refused in any case (calls spread over many seconds would mean the edge itself stalled).
    /// </summary>
    public void AssertRefusedAtLeast(int refused, int sent, TimeSpan elapsed)
    {
        var mayPass = Burst + (PermitsPerSecond * ((int)Math.Floor(elapsed.TotalSeconds) + 1));
        var atLeast = Math.Max(1, sent - mayPass);
        Assert.True(refused >= atLeast, $"{refused} of {sent} refused in {elapsed.TotalMilliseconds:F0} ms; at least {atLeast} must be");
    }
}

/// <summary>One orchestrator replica: a process on a fixed port, and the Groq stand-in only it talks to.</summary>
public sealed class OrchestratorReplica(string name, int port, GroqStandIn groq, IReadOnlyDictionary<string, string> environment)
{
    public string Name { get; } = name;

    public int Port { get; } = port;

    /// <summary>Counting this stand-in's requests tells which replica served a call.</summary>
    public GroqStandIn Groq { get; } = groq;

    public IReadOnlyDictionary<string, string> Environment { get; } = environment;

    public ServiceProcess? Process { get; set; }

    public Uri Address => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}");
}

/// <summary>
/// The four services as real processes on 127.0.0.1, started from their build output: the slm-service on
/// stories260K, the policy-service on bundles the trainer made from generated labels, two orchestrator replicas
/// sharing one SQLite ledger (so Usage through the load balancer is right whichever replica answers it) and each
/// calling its own Groq stand-in, and the edge in front of both replicas with four API keys. Everything lives in a
/// temporary home that is deleted on dispose, after every process has been killed.
/// </summary>
public sealed class EndToEndStack : IAsyncLifetime
{
    public const string MissingModelReason = "stories260K.gguf not found: set SHEPHERD_MODELS or run scripts/fetch-fixtures.sh";

    // Groq's list prices for llama-3.3-70b-versatile (paper.md): $0.59 / M input tokens, $0.79 / M output tokens.
    public const double InputUsdPerToken = 0.59e-6;
    public const double OutputUsdPerToken = 0.79e-6;

    public static readonly TestKey Team = new("team", "shk_e2e_team_5f1c0b7a9d3e4f21");
    public static readonly TestKey Admin = new("ops", "shk_e2e_ops_0a9b8c7d6e5f4a3b", Admin: true);
    public static readonly TestKey Tight = new("tight", "shk_e2e_tight_7e6d5c4b3a291807", PermitsPerSecond: 1, Burst: 1);
    public static readonly TestKey Ledger = new("ledger", "shk_e2e_ledger_3c2b1a0f9e8d7c6b");

    // The edge signs the key id it forwards with this; the replicas verify it and refuse calls without one.
    internal static readonly string IdentityKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>The headers the edge forwards for <paramref name="keyId"/>, signed with this stack's identity key.</summary>
    public static Grpc.Core.Metadata SignedIdentity(string keyId, bool admin = false) => SignedIdentityHeaders.For(IdentityKey, keyId, admin);

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly List<ServiceProcess> _services = [];
    private readonly Dictionary<string, Uri> _metrics = [];
    private readonly List<GroqStandIn> _standIns = [];
    private GrpcChannel? _channel;

    public static bool HasModel => ShepherdPaths.FixtureModel is not null;

    public string Home { get; } = Directory.CreateTempSubdirectory("shepherd-e2e-").FullName;

    public IReadOnlyList<OrchestratorReplica> Replicas { get; private set; } = [];

    public Uri EdgeAddress { get; private set; } = null!;

    /// <summary>The edge's HTTP/1.1 listener (Edge:Http1Url): gRPC-Web and the OpenAI-compatible API.</summary>
    public Uri EdgeHttp1Address { get; private set; } = null!;

    public ServiceProcess Slm { get; private set; } = null!;

    public ServiceProcess Policy { get; private set; } = null!;

    public ServiceProcess Edge { get; private set; } = null!;

    public ShepherdService.ShepherdServiceClient Client { get; private set; } = null!;

    /// <summary>Where every service exports its spans (OTLP/HTTP), as it would to an OpenTelemetry Collector.</summary>
    public OtlpCollector Collector { get; private set; } = null!;

    /// <summary>A service's Prometheus scrape endpoint (its Metrics:Url listener): "slm", "policy", "edge", "orchestrator-a", "orchestrator-b".</summary>
    public Uri MetricsUrl(string service) => _metrics[service];

    public string LedgerPath => Path.Combine(Home, "ledger.db");

    /// <summary>A query no earlier call asked, so neither the hint cache nor another test's request can answer for it.</summary>
    public static string UniqueQuery(string text) => $"{text} (case {Guid.NewGuid():N})";

    /// <summary>The one request any Groq stand-in received whose messages contain <paramref name="marker"/>.</summary>
    public JsonObject LlmRequestContaining(string marker) =>
        _standIns.SelectMany(g => g.Requests)
            .Single(r => r["messages"]!.AsArray().Any(m => m!["content"]!.GetValue<string>().Contains(marker, StringComparison.Ordinal)));

    /// <summary>Prompt tokens as the stand-in counts them: whitespace words of every message.</summary>
    public static int PromptTokens(JsonObject request) =>
        request["messages"]!.AsArray().Sum(m => GroqStandIn.CountTokens(m!["content"]!.GetValue<string>()));

    public async Task InitializeAsync()
    {
        if (!HasModel)
        {
            return;
        }

        try
        {
            await StartAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills a replica's process (SIGKILL: a crash, not a graceful stop).</summary>
    public async Task KillReplicaAsync(OrchestratorReplica replica)
    {
        if (replica.Process is { } process)
        {
            lock (_services)
            {
                _services.Remove(process);
            }

            replica.Process = null;
            await process.DisposeAsync();
        }
    }

    /// <summary>Starts a replica again on its port and its environment (so on the same ledger file).</summary>
    public async Task StartReplicaAsync(OrchestratorReplica replica)
    {
        if (replica.Process is not null)
        {
            return;
        }

        replica.Process = await ServiceProcess.StartAsync("Shepherd.Orchestrator", replica.Environment, StartTimeout, CancellationToken.None, replica.Port);
        Track(replica.Process);
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        foreach (var service in Enumerable.Reverse(_services))
        {
            await service.DisposeAsync();
        }

        _services.Clear();
        foreach (var standIn in _standIns)
        {
            await standIn.DisposeAsync();
        }

        _standIns.Clear();
        if (Collector is not null)
        {
            await Collector.DisposeAsync();
        }

        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string Sha256(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private async Task StartAsync()
    {
        Collector = await OtlpCollector.StartAsync();
        var keyFile = Path.Combine(Home, "groq.key");
        await File.WriteAllTextAsync(keyFile, GroqStandIn.ValidKey);
        for (var i = 0; i < 2; i++)
        {
            _standIns.Add(await GroqStandIn.StartAsync());
        }

        // Training the bundles is CPU work; the slm-service loads its model meanwhile.
        var bundles = Task.Run(() => LocalStack.EnsureDemoBundles(Home));
        var slm = StartServiceAsync("Shepherd.Slm", new Dictionary<string, string>(Telemetry("slm"))
        {
            ["Slm__ModelPath"] = ShepherdPaths.FixtureModel!,
            ["Slm__Threads"] = "1",
        });
        // WhenAll: both have finished, one way or the other, before anything goes on (no process left behind).
        await Task.WhenAll(bundles, slm);
        var (proactive, reactive) = await bundles;
        var policy = await StartServiceAsync("Shepherd.Policy", new Dictionary<string, string>(Telemetry("policy"))
        {
            ["Policy__BundlePath"] = proactive,
            ["Policy__AdditionalBundlePaths__0"] = reactive,
        });
        Slm = await slm;
        Policy = policy;
        var slmAddress = Slm.Address.ToString().TrimEnd('/');
        var policyAddress = policy.Address.ToString().TrimEnd('/');

        Replicas = _standIns.Select((groq, i) => new OrchestratorReplica(
            i == 0 ? "a" : "b",
            ServiceProcess.FreePort(),
            groq,
            new Dictionary<string, string>(Telemetry(i == 0 ? "orchestrator-a" : "orchestrator-b"))
            {
                ["Orchestrator__SlmAddress"] = slmAddress,
                ["Orchestrator__PolicyAddress"] = policyAddress,
                ["Orchestrator__SlmMaxTokens"] = "24",
                ["Orchestrator__DownstreamTimeoutSeconds"] = "30",
                ["Llm__BaseUrl"] = groq.BaseUrl,
                ["Llm__ApiKeyFile"] = keyFile,
                // An unset variable, so a GROQ_API_KEY in the developer's environment can never be used here.
                ["Llm__ApiKeyVariable"] = "SHEPHERD_E2E_UNSET_GROQ_KEY",
                ["Llm__RetryBaseDelayMs"] = "5",
                ["Storage__SqlitePath"] = LedgerPath,
                ["Identity__SigningKey"] = IdentityKey,
            })).ToArray();
        await Task.WhenAll(Replicas.Select(StartReplicaAsync));

        var edge = new Dictionary<string, string>(Telemetry("edge"))
        {
            ["Identity__SigningKey"] = IdentityKey,
            // d1 is named in the edge's appsettings.json (127.0.0.1:5102): it must be overridden, not added to.
            ["ReverseProxy__Clusters__orchestrator__Destinations__d1__Address"] = Replicas[0].Address.ToString(),
            ["ReverseProxy__Clusters__orchestrator__Destinations__d2__Address"] = Replicas[1].Address.ToString(),
            ["ReverseProxy__Clusters__slm__Destinations__d1__Address"] = slmAddress,
            ["ReverseProxy__Clusters__policy__Destinations__d1__Address"] = policyAddress,
        };
        EdgeHttp1Address = new Uri($"http://127.0.0.1:{ServiceProcess.FreePort().ToString(CultureInfo.InvariantCulture)}");
        edge["Edge__Http1Url"] = EdgeHttp1Address.ToString();
        var keys = new[] { Team, Admin, Tight, Ledger };
        for (var i = 0; i < keys.Length; i++)
        {
            var at = $"Edge__ApiKeys__{i.ToString(CultureInfo.InvariantCulture)}__";
            edge[at + "Id"] = keys[i].Id;
            edge[at + "Sha256"] = Sha256(keys[i].Secret);
            edge[at + "Admin"] = keys[i].Admin ? "true" : "false";
            edge[at + "PermitsPerSecond"] = keys[i].PermitsPerSecond.ToString(CultureInfo.InvariantCulture);
            edge[at + "Burst"] = keys[i].Burst.ToString(CultureInfo.InvariantCulture);
        }

        Edge = await StartServiceAsync("Shepherd.Edge", edge);
        EdgeAddress = Edge.Address;
        _channel = GrpcChannel.ForAddress(EdgeAddress);
        Client = new ShepherdService.ShepherdServiceClient(_channel);
    }

    /// <summary>A metrics listener on a free port, and spans to the collector within a fraction of a second.</summary>
    private Dictionary<string, string> Telemetry(string service)
    {
        var metrics = new Uri($"http://127.0.0.1:{ServiceProcess.FreePort().ToString(CultureInfo.InvariantCulture)}/metrics");
        lock (_metrics)
        {
            _metrics[service] = metrics;
        }

        return new Dictionary<string, string>
        {
            ["Metrics__Url"] = metrics.GetLeftPart(UriPartial.Authority),
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Collector.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_SERVICE_NAME"] = service.StartsWith("orchestrator", StringComparison.Ordinal) ? "orchestrator" : service,
        };
    }

    private async Task<ServiceProcess> StartServiceAsync(string project, IReadOnlyDictionary<string, string> environment)
    {
        var service = await ServiceProcess.StartAsync(project, environment, StartTimeout, CancellationToken.None);
        Track(service);
        return service;
    }

    // Services start concurrently; every started process is tracked so that DisposeAsync kills it.
    private void Track(ServiceProcess service)
    {
        lock (_services)
        {
            _services.Add(service);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<EndToEndStack>
{
    public const string Name = "end-to-end";
}
