using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shepherd.Contracts.V1;

namespace Shepherd.Policy.Tests;

/// <summary>The real policy-service host on a loopback Kestrel port, and a gRPC client over h2c.</summary>
public sealed class PolicyServiceHostRunner : IAsyncDisposable
{
    private readonly WebApplication _app;

    private PolicyServiceHostRunner(WebApplication app, string address)
    {
        _app = app;
        Address = address;
        Channel = GrpcChannel.ForAddress(address);
        Client = new PolicyService.PolicyServiceClient(Channel);
    }

    public string Address { get; }

    public GrpcChannel Channel { get; }

    public PolicyService.PolicyServiceClient Client { get; }

    public static async Task<PolicyServiceHostRunner> StartAsync(params string[] settings)
    {
        var app = Build(settings);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new PolicyServiceHostRunner(app, address);
    }

    /// <summary>The host as Program.cs builds it, on 127.0.0.1 with a free port, quiet logging.</summary>
    public static WebApplication Build(params string[] settings) =>
        PolicyServiceHost.Build(
            ["--urls", "http://127.0.0.1:0", .. settings],
            builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
