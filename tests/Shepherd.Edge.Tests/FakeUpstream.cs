using System.Text;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shepherd.Contracts.V1;
using Shepherd.Hosting;
using Shepherd.ServiceDefaults;
using Shepherd.ServiceDefaults.Identity;

namespace Shepherd.Edge.Tests;

/// <summary>
/// A small real gRPC server on 127.0.0.1 standing in for an orchestrator replica (and for the slm-service on the
/// admin route). It answers with its own name and the key id the edge forwarded, so tests see who answered whom.
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    public const string InvalidQuery = "please fail";

    private readonly WebApplication _app;
    private bool _stopped;

    private FakeUpstream(WebApplication app, Replica replica, Uri address)
    {
        _app = app;
        Replica = replica;
        Address = address;
    }

    public Replica Replica { get; }

    public Uri Address { get; }

    public static async Task<FakeUpstream> StartAsync(string name)
    {
        var builder = WebApplication.CreateBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.AddShepherdServiceDefaults();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var replica = new Replica(name);
        builder.Services.AddSingleton(replica);

        var app = builder.Build();
        app.MapGrpcService<FakeShepherdService>();
        app.MapGrpcService<FakeSlmService>();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new FakeUpstream(app, replica, new Uri(address));
    }

    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed class Replica(string name)
{
    private int _calls;

    public string Name { get; } = name;

    public int Calls => Volatile.Read(ref _calls);

    public void Called() => Interlocked.Increment(ref _calls);

    /// <summary>What the upstream saw: the forwarded key id(s), whether any credential reached it, and whether the identity's signature verifies.</summary>
    public static (string KeyIds, bool SawCredential, string Identity) Inspect(ServerCallContext context)
    {
        var ids = context.RequestHeaders.Where(h => h.Key == SignedIdentity.KeyIdHeader).Select(h => h.Value).ToArray();
        var credential = context.RequestHeaders.Any(h => h.Key is "authorization" or "x-api-key");
        var signature = context.RequestHeaders.GetValue(SignedIdentity.SignatureHeader);
        var admin = context.RequestHeaders.GetValue(SignedIdentity.AdminHeader) == "true";
        var identity = ids.Length != 1 ? "no identity"
            : signature is null ? "unsigned"
            : SignedIdentity.Verify(Encoding.UTF8.GetBytes(EdgeHarness.IdentityKey), ids[0], admin, signature, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(60))
                ?? (admin ? "signed admin identity" : "signed identity");
        return (string.Join(",", ids), credential, identity);
    }
}

internal sealed class FakeShepherdService(Replica replica) : ShepherdService.ShepherdServiceBase
{
    public override Task<AnswerResponse> Answer(AnswerRequest request, ServerCallContext context)
    {
        replica.Called();
        if (request.Query == FakeUpstream.InvalidQuery)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "query is not acceptable"));
        }

        return Task.FromResult(Respond(request, context));
    }

    public override async Task AnswerStream(AnswerStreamRequest request, IServerStreamWriter<AnswerStreamResponse> responseStream, ServerCallContext context)
    {
        replica.Called();
        foreach (var delta in new[] { "The ", "answer ", "is 42." })
        {
            await responseStream.WriteAsync(new AnswerStreamResponse { TextDelta = delta }, context.CancellationToken);
            await Task.Delay(20, context.CancellationToken);
        }

        await responseStream.WriteAsync(new AnswerStreamResponse { Final = Respond(request.Request, context) }, context.CancellationToken);
    }

    private AnswerResponse Respond(AnswerRequest request, ServerCallContext context)
    {
        var (keyIds, sawCredential, identity) = Replica.Inspect(context);
        var response = new AnswerResponse { RequestId = request.RequestId, Answer = replica.Name, FinalAnswer = keyIds, Path = { identity } };
        if (sawCredential)
        {
            response.Degradations.Add("credential reached upstream");
        }

        return response;
    }
}

internal sealed class FakeSlmService(Replica replica) : SlmService.SlmServiceBase
{
    public override Task<SlmServiceInfoResponse> Info(SlmServiceInfoRequest request, ServerCallContext context)
    {
        replica.Called();
        var (keyIds, _, _) = Replica.Inspect(context);
        return Task.FromResult(new SlmServiceInfoResponse { ModelName = replica.Name, Backend = keyIds });
    }
}
