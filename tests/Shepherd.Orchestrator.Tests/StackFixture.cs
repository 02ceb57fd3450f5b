using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shepherd.Contracts.V1;
using Shepherd.Core.Configuration;
using Shepherd.Orchestrator;
using Shepherd.Policy;
using Shepherd.Policy.Model.Training;
using Shepherd.Slm;
using Shepherd.TestSupport;
using CorePolicyMode = Shepherd.Core.Policy.PolicyMode;

namespace Shepherd.Orchestrator.Tests;

/// <summary>
/// The services the orchestrator calls, as real Kestrel servers on 127.0.0.1: the slm-service on stories260K,
/// the policy-service on bundles trained from a generated label set, and the Groq stand-in. Orchestrators are
/// started per test with the configuration the test needs.
/// </summary>
public sealed class StackFixture : IAsyncLifetime
{
    public const string MissingModelReason = "stories260K.gguf not found: set SHEPHERD_MODELS or run scripts/fetch-fixtures.sh";

    private readonly List<WebApplication> _apps = [];

    public static bool HasModel => ShepherdPaths.FixtureModel is not null;

    public string WorkDirectory { get; } = Directory.CreateTempSubdirectory("shepherd-orch-").FullName;

    public string SlmAddress { get; private set; } = "";

    public string PolicyAddress { get; private set; } = "";

    public GroqStandIn Groq { get; private set; } = null!;

    public string KeyFile => Path.Combine(WorkDirectory, "groq.key");

    public async Task InitializeAsync()
    {
        Groq = await GroqStandIn.StartAsync();
        await File.WriteAllTextAsync(KeyFile, GroqStandIn.ValidKey);
        if (!HasModel)
        {
            return;
        }

        SlmAddress = await StartAsync(SlmApp.Build(["--urls", "http://127.0.0.1:0"], b =>
        {
            b.Configuration["Slm:ModelPath"] = ShepherdPaths.FixtureModel;
            b.Configuration["Slm:Threads"] = "1";
            Quiet(b);
        }));

        ProactiveBundle = TrainBundle(CorePolicyMode.Proactive, "proactive");
        ReactiveBundle = TrainBundle(CorePolicyMode.Reactive, "reactive");
        PolicyAddress = await StartPolicyAsync("http://127.0.0.1:0");
    }

    public string ProactiveBundle { get; private set; } = "";

    public string ReactiveBundle { get; private set; } = "";

    /// <summary>A policy-service on the trained bundles at <paramref name="url"/>; stopped with the fixture unless stopped first.</summary>
    public Task<string> StartPolicyAsync(string url, List<WebApplication>? started = null)
    {
        var app = PolicyServiceHost.Build(["--urls", url], b =>
        {
            b.Configuration["Policy:BundlePath"] = ProactiveBundle;
            b.Configuration["Policy:AdditionalBundlePaths:0"] = ReactiveBundle;
            Quiet(b);
        });
        started?.Add(app);
        return StartAsync(app);
    }

    /// <summary>The key the edge would sign identities with; every orchestrator here verifies with it.</summary>
    public const string IdentityKey = "orchestrator-tests-identity-key-0123456789";

    /// <summary>Headers as the edge forwards them for <paramref name="keyId"/>: the id, the admin flag and their signature.</summary>
    public static global::Grpc.Core.Metadata SignedAs(string keyId, bool admin = false, DateTimeOffset? at = null) =>
        SignedIdentityHeaders.For(IdentityKey, keyId, admin, at);

    /// <summary>An orchestrator wired to the stack, with the Groq stand-in as its LLM unless the test says otherwise.</summary>
    public async Task<(ShepherdService.ShepherdServiceClient Client, WebApplication App, LogCapture Logs)> StartOrchestratorAsync(IDictionary<string, string?>? settings = null, string? database = null)
    {
        var logs = new LogCapture();
        var app = OrchestratorApp.Build(["--urls", "http://127.0.0.1:0"], b =>
        {
            var config = new Dictionary<string, string?>
            {
                ["Orchestrator:SlmAddress"] = SlmAddress,
                ["Orchestrator:PolicyAddress"] = PolicyAddress,
                ["Orchestrator:SlmMaxTokens"] = "24",
                ["Orchestrator:DownstreamTimeoutSeconds"] = "30",
                ["Llm:BaseUrl"] = Groq.BaseUrl,
                ["Llm:ApiKeyVariable"] = "SHEPHERD_TEST_UNSET_KEY_VARIABLE",
                ["Llm:ApiKeyFile"] = KeyFile,
                ["Llm:RetryBaseDelayMs"] = "5",
                ["Llm:MaxRetries"] = "2",
                ["Llm:MaxAnswerTokens"] = "64",
                ["Storage:SqlitePath"] = database ?? Path.Combine(WorkDirectory, Guid.NewGuid().ToString("N") + ".db"),
                ["Identity:SigningKey"] = IdentityKey,
            };
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            {
                config[key] = value;
            }

            foreach (var (key, value) in config)
            {
                b.Configuration[key] = value;
            }

            Quiet(b);
            b.Logging.AddProvider(logs);
        });
        var address = await StartAsync(app);
        return (new ShepherdService.ShepherdServiceClient(GrpcChannel.ForAddress(address)), app, logs);
    }

    public async Task StopAsync(WebApplication app)
    {
        _apps.Remove(app);
        await app.StopAsync();
        await app.DisposeAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var app in Enumerable.Reverse(_apps))
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        await Groq.DisposeAsync();
        try
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void Quiet(WebApplicationBuilder b)
    {
        b.Configuration["Logging:LogLevel:Default"] = "Warning";
        b.Configuration["Logging:LogLevel:llama.cpp"] = "Error";
        b.Configuration["Logging:LogLevel:Shepherd"] = "Information";
    }

    private string TrainBundle(CorePolicyMode mode, string name)
    {
        var directory = Path.Combine(WorkDirectory, name);
        var labels = SyntheticLabels.Generate(160, seed: 11, mode);
        var result = PolicyTrainer.Train(labels, new PolicyTrainingOptions { Mode = mode, MaxEpochs = 15 });
        result.Save(directory);
        return directory;
    }

    private async Task<string> StartAsync(WebApplication app)
    {
        await app.StartAsync();
        _apps.Add(app);
        return app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }
}

[CollectionDefinition(Name)]
public sealed class StackCollection : ICollectionFixture<StackFixture>
{
    public const string Name = "orchestrator-stack";
}

/// <summary>Every log line the orchestrator writes, formatted, so tests can look for leaks.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return _lines.ToArray();
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._lines)
            {
                owner._lines.Add($"{category}: {formatter(state, exception)} {exception}");
            }
        }
    }
}
