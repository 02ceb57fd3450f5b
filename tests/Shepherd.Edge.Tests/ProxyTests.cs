using System.Net;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Shepherd.Contracts.V1;
using Shepherd.TestSupport;

namespace Shepherd.Edge.Tests;

[Collection(EdgeCollection.Name)]
public sealed class ProxyTests(EdgeFixture fixture)
{
    private EdgeHarness Edge => fixture.Harness;

    [Fact]
    public async Task BothOrchestratorReplicasReceiveTraffic()
    {
        var headers = EdgeHarness.Bearer(EdgeHarness.TeamA);
        var answeredBy = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            answeredBy.Add((await Edge.Client.AnswerAsync(new AnswerRequest { Query = "1+1" }, headers)).Answer);
        }

        Assert.Contains("replica-1", answeredBy);
        Assert.Contains("replica-2", answeredBy);
    }

    [Fact]
    public async Task AnswerStreamPassesThroughDeltaByDelta()
    {
        using var call = Edge.Client.AnswerStream(
            new AnswerStreamRequest { Request = new AnswerRequest { Query = "6*7", RequestId = "s-1" } }, EdgeHarness.Bearer(EdgeHarness.TeamA));

        var deltas = new List<string>();
        AnswerResponse? final = null;
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            if (message.EventCase == AnswerStreamResponse.EventOneofCase.TextDelta)
            {
                deltas.Add(message.TextDelta);
            }
            else
            {
                final = message.Final;
            }
        }

        Assert.Equal(["The ", "answer ", "is 42."], deltas);
        Assert.NotNull(final);
        Assert.Equal("s-1", final.RequestId);
        Assert.Equal("team-a", final.FinalAnswer);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task UpstreamErrorStatusReachesTheClientUnchanged()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Edge.Client.AnswerAsync(new AnswerRequest { Query = FakeUpstream.InvalidQuery }, EdgeHarness.Bearer(EdgeHarness.TeamA)).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("query is not acceptable", error.Status.Detail);
    }

    [Fact]
    public async Task ReflectionThroughTheEdgeListsTheOrchestratorServicesWithoutAKey()
    {
        var client = new ServerReflection.ServerReflectionClient(Edge.Channel);
        using var call = client.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToArray();

        Assert.Contains("shepherd.v1.ShepherdService", services);
    }

    [SkippableFact]
    public async Task BufCurlListsMethodsAndCallsAnswerThroughTheEdge()
    {
        var buf = ExternalTool.Find("buf");
        Skip.If(buf is null, "buf is not on PATH (npm install -g @bufbuild/buf; .ci/run installs it)");
        var address = Edge.Address.ToString().TrimEnd('/');

        var list = await ExternalTool.RunAsync(buf!, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", address], TimeSpan.FromSeconds(60));
        Assert.True(list.ExitCode == 0, list.StdErr);
        Assert.Contains("shepherd.v1.ShepherdService/Answer", list.StdOut);

        var call = await ExternalTool.RunAsync(
            buf!,
            ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-H", $"authorization: Bearer {EdgeHarness.TeamB.Secret}",
                "-d", """{"query":"1+1","requestId":"buf-1"}""", $"{address}/shepherd.v1.ShepherdService/Answer"],
            TimeSpan.FromSeconds(60));
        Assert.True(call.ExitCode == 0, call.StdErr);
        Assert.Contains("\"finalAnswer\": \"team-b\"", call.StdOut);

        var denied = await ExternalTool.RunAsync(
            buf!, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", """{"query":"1+1"}""", $"{address}/shepherd.v1.ShepherdService/Answer"],
            TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Contains("unauthenticated", denied.StdErr);
    }

    [Fact]
    public async Task ForwardingLogsNoWarnings()
    {
        var before = Edge.Logs.Count;

        await Edge.Client.AnswerAsync(new AnswerRequest { Query = "1+1" }, EdgeHarness.Bearer(EdgeHarness.TeamA));

        // Nothing may read the body before YARP does: it then cannot lift the body size limit and warns per call.
        Assert.DoesNotContain(Edge.Logs.Skip(before), l => l.Contains("max request body size", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EdgeHealthIsLocalAndOpen()
    {
        var grpcHealth = await new Health.HealthClient(Edge.Channel).CheckAsync(new HealthCheckRequest());
        using var http = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var httpHealth = await http.GetStringAsync(new Uri(Edge.Address, "/health"));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, grpcHealth.Status);
        Assert.Equal("Healthy", httpHealth);
    }
}
