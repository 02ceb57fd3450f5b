using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Shepherd.Core.Configuration;
using Shepherd.Policy.Model.Training;
using Spectre.Console;
using CorePolicyMode = Shepherd.Core.Policy.PolicyMode;

namespace Shepherd.Cli.Hosting;

/// <summary>Ports of the local stack; 0 picks a free one. EdgeHttp1: the edge's HTTP/1.1 listener (OpenAI API, gRPC-Web).</summary>
public sealed record StackPorts(int Edge = 5100, int Slm = 5101, int Orchestrator = 5102, int Policy = 5103, int EdgeHttp1 = 5104)
{
    public static StackPorts Ephemeral => new(0, 0, 0, 0, 0);
}

/// <summary>
/// The four services as real processes on 127.0.0.1 with the embedded defaults: the slm-service on the fixture
/// GGUF (it also plays the LLM when no GROQ_API_KEY is set), the policy-service on a demo bundle trained from
/// generated labels when none exists, the orchestrator with its SQLite ledger, and the edge with a development
/// API key kept in .shepherd/dev-api-key.
/// </summary>
public sealed class LocalStack : IAsyncDisposable
{
    private readonly List<ServiceProcess> _services = [];

    private LocalStack(string home) => Home = home;

    public string Home { get; }

    public Uri EdgeAddress { get; private set; } = null!;

    public Uri OrchestratorAddress { get; private set; } = null!;

    public string ApiKey { get; private set; } = "";

    public IReadOnlyList<ServiceProcess> Services => _services;

    public static string DefaultHome => Path.Combine(ShepherdPaths.RepositoryRoot ?? Directory.GetCurrentDirectory(), ".shepherd");

    /// <summary>The development key, created on first use; only its SHA-256 reaches the edge's configuration.</summary>
    public static string DevApiKey(string home)
    {
        var path = Path.Combine(home, "dev-api-key");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(home);
            File.WriteAllText(path, "shk_dev_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        return File.ReadAllText(path).Trim();
    }

    /// <param name="edgeSettings">Edge environment overrides (e.g. the dev key's <c>Edge__ApiKeys__0__PermitsPerSecond</c>).</param>
    /// <param name="slmSettings">slm-service environment overrides (e.g. <c>Slm__Threads</c>).</param>
    public static async Task<LocalStack> StartAsync(StackPorts ports, string? modelPath, string? home, IReadOnlyDictionary<string, string>? orchestratorSettings, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? edgeSettings = null, IReadOnlyDictionary<string, string>? slmSettings = null)
    {
        var stack = new LocalStack(home ?? DefaultHome);
        try
        {
            await stack.StartCoreAsync(ports, modelPath, orchestratorSettings ?? new Dictionary<string, string>(), edgeSettings ?? new Dictionary<string, string>(), slmSettings ?? new Dictionary<string, string>(), cancellationToken);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    public static (string Proactive, string Reactive) EnsureDemoBundles(string home)
    {
        var proactive = Path.Combine(home, "bundles", "proactive");
        var reactive = Path.Combine(home, "bundles", "reactive");
        foreach (var (mode, directory) in new[] { (CorePolicyMode.Proactive, proactive), (CorePolicyMode.Reactive, reactive) })
        {
            if (File.Exists(Path.Combine(directory, "policy.json")))
            {
                continue;
            }

            AnsiConsole.MarkupLine($"[grey]training a demo {mode.ToString().ToLowerInvariant()} policy bundle from generated labels (it exercises the machinery; it is not a quality policy) …[/]");
            var labels = SyntheticLabels.Generate(240, seed: 7, mode);
            PolicyTrainer.Train(labels, new PolicyTrainingOptions { Mode = mode, MaxEpochs = 30 }).Save(directory);
        }

        return (proactive, reactive);
    }

    /// <summary>The first service to exit on its own, or null when <paramref name="cancellationToken"/> fires first.</summary>
    public async Task<ServiceProcess?> WaitForAnyExitAsync(CancellationToken cancellationToken)
    {
        var exits = _services.Select(s => s.WaitForExitAsync(cancellationToken)).ToArray();
        try
        {
            await Task.WhenAny(exits).Unwrap();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        return cancellationToken.IsCancellationRequested ? null : _services.FirstOrDefault(s => s.ExitCode is not null);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in Enumerable.Reverse(_services))
        {
            await service.DisposeAsync();
        }

        _services.Clear();
    }

    private static string Port(int port) => (port == 0 ? ServiceProcess.FreePort() : port).ToString(CultureInfo.InvariantCulture);

    private async Task StartCoreAsync(StackPorts ports, string? modelPath, IReadOnlyDictionary<string, string> orchestratorSettings, IReadOnlyDictionary<string, string> edgeSettings, IReadOnlyDictionary<string, string> slmSettings, CancellationToken cancellationToken)
    {
        var model = modelPath ?? ShepherdPaths.FixtureModel
            ?? throw new InvalidOperationException(MissingFixtures.Model);
        var (proactive, reactive) = EnsureDemoBundles(Home);
        ApiKey = DevApiKey(Home);
        var timeout = TimeSpan.FromSeconds(90);

        var slmEnvironment = new Dictionary<string, string>(slmSettings) { ["Slm__ModelPath"] = model };
        var slm = await StartAsync("Shepherd.Slm", int.Parse(Port(ports.Slm), CultureInfo.InvariantCulture), slmEnvironment, timeout, cancellationToken);
        var policy = await StartAsync("Shepherd.Policy", int.Parse(Port(ports.Policy), CultureInfo.InvariantCulture), new Dictionary<string, string>
        {
            ["Policy__BundlePath"] = proactive,
            ["Policy__AdditionalBundlePaths__0"] = reactive,
        }, timeout, cancellationToken);
        // The edge signs the key id it forwards and the orchestrator verifies it: a fresh secret for each stack.
        var identityKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var orchestratorEnvironment = new Dictionary<string, string>
        {
            ["Identity__SigningKey"] = identityKey,
            ["Orchestrator__SlmAddress"] = slm.Address.ToString().TrimEnd('/'),
            ["Orchestrator__PolicyAddress"] = policy.Address.ToString().TrimEnd('/'),
            ["Storage__SqlitePath"] = Path.Combine(Home, "orchestrator.db"),
        };
        foreach (var (key, value) in orchestratorSettings)
        {
            orchestratorEnvironment[key] = value;
        }

        var orchestrator = await StartAsync("Shepherd.Orchestrator", int.Parse(Port(ports.Orchestrator), CultureInfo.InvariantCulture), orchestratorEnvironment, timeout, cancellationToken);
        OrchestratorAddress = orchestrator.Address;
        var edgeEnvironment = new Dictionary<string, string>
        {
            ["Identity__SigningKey"] = identityKey,
            ["Edge__ApiKeys__0__Id"] = "dev",
            ["Edge__ApiKeys__0__Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ApiKey))),
            ["Edge__ApiKeys__0__Admin"] = "true",
            ["Edge__ApiKeys__0__PermitsPerSecond"] = "50",
            ["Edge__ApiKeys__0__Burst"] = "100",
            ["ReverseProxy__Clusters__orchestrator__Destinations__d1__Address"] = orchestrator.Address.ToString(),
            ["ReverseProxy__Clusters__slm__Destinations__d1__Address"] = slm.Address.ToString(),
            ["ReverseProxy__Clusters__policy__Destinations__d1__Address"] = policy.Address.ToString(),
            ["Edge__Http1Url"] = $"http://127.0.0.1:{Port(ports.EdgeHttp1)}",
        };
        foreach (var (key, value) in edgeSettings)
        {
            edgeEnvironment[key] = value;
        }

        var edge = await StartAsync("Shepherd.Edge", int.Parse(Port(ports.Edge), CultureInfo.InvariantCulture), edgeEnvironment, timeout, cancellationToken);
        EdgeAddress = edge.Address;
    }

    private async Task<ServiceProcess> StartAsync(string project, int port, IReadOnlyDictionary<string, string> environment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        AnsiConsole.MarkupLine($"[grey]starting {project} on 127.0.0.1:{port} …[/]");
        var service = await ServiceProcess.StartAsync(project, environment, timeout, cancellationToken, port);
        _services.Add(service);
        return service;
    }
}
