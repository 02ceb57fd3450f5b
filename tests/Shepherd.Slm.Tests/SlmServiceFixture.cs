using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Shepherd.Contracts.V1;
using Shepherd.Core.Configuration;
using Shepherd.Slm;

namespace Shepherd.Slm.Tests;

/// <summary>The real slm-service on a Kestrel port of 127.0.0.1, with the stories260K fixture model.</summary>
public class SlmServiceFixture : IAsyncLifetime
{
    private readonly int _maxSequences;
    private readonly int _maxQueue;
    private readonly int _prefixCacheEntries;

    public SlmServiceFixture()
        : this(maxSequences: 16, maxQueue: 64)
    {
    }

    protected SlmServiceFixture(int maxSequences, int maxQueue, int prefixCacheEntries = 0, int contextSize = 0, int batchTokens = 512)
    {
        _maxSequences = maxSequences;
        _maxQueue = maxQueue;
        _prefixCacheEntries = prefixCacheEntries;
        _contextSize = contextSize;
        _batchTokens = batchTokens;
    }

    private readonly int _contextSize;
    private readonly int _batchTokens;

    public const string MissingModelReason = "stories260K.gguf not found: set SHEPHERD_MODELS or run scripts/fetch-fixtures.sh";

    private WebApplication? _app;

    public static string? ModelPath => ShepherdPaths.FixtureModel;

    public GrpcChannel? Channel { get; private set; }

    /// <summary>The running host's services (the engine, for its test seams), or null when the model is absent.</summary>
    public IServiceProvider? Services => _app?.Services;

    public Uri? Address { get; private set; }

    public SlmService.SlmServiceClient Client => new(Channel ?? throw new SkipException(MissingModelReason));

    public async Task InitializeAsync()
    {
        if (ModelPath is null)
        {
            return;
        }

        _app = SlmApp.Build(
            ["--urls", "http://127.0.0.1:0"],
            b =>
            {
                b.Configuration["Slm:ModelPath"] = ModelPath;
                b.Configuration["Slm:MaxSequences"] = _maxSequences.ToString(System.Globalization.CultureInfo.InvariantCulture);
                b.Configuration["Slm:MaxQueue"] = _maxQueue.ToString(System.Globalization.CultureInfo.InvariantCulture);
                b.Configuration["Slm:Threads"] = "1";
                b.Configuration["Slm:ContextSize"] = _contextSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
                b.Configuration["Slm:BatchTokens"] = _batchTokens.ToString(System.Globalization.CultureInfo.InvariantCulture);
                b.Configuration["Slm:PrefixCacheEntries"] = _prefixCacheEntries.ToString(System.Globalization.CultureInfo.InvariantCulture);
                b.Configuration["Logging:LogLevel:Default"] = "Warning";
                b.Configuration["Logging:LogLevel:llama.cpp"] = "Error";
            });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Address = new Uri(address);
        Channel = GrpcChannel.ForAddress(Address);
    }

    public async Task DisposeAsync()
    {
        Channel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SlmCollection : ICollectionFixture<SlmServiceFixture>
{
    public const string Name = "slm-service";
}
