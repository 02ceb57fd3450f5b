using Grpc.Core;
using Shepherd.Contracts.V1;

namespace Shepherd.Edge.Tests;

[Collection(EdgeCollection.Name)]
public sealed class AuthTests(EdgeFixture fixture)
{
    private EdgeHarness Edge => fixture.Harness;

    [Fact]
    public async Task CallWithoutKeyIsUnauthenticated()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Edge.Client.AnswerAsync(new AnswerRequest { Query = "1+1" }).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains("API key required", error.Status.Detail);
    }

    [Fact]
    public async Task CallWithUnknownKeyIsUnauthenticatedAndNeverReachesAnUpstream()
    {
        var before = Edge.Replicas.Sum(r => r.Replica.Calls);
        var wrong = new Metadata { { "authorization", "Bearer sk-not-a-key" } };

        var error = await Assert.ThrowsAsync<RpcException>(() => Edge.Client.AnswerAsync(new AnswerRequest { Query = "1+1" }, wrong).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal("invalid API key", error.Status.Detail);
        Assert.Equal(before, Edge.Replicas.Sum(r => r.Replica.Calls));
    }

    [Fact]
    public async Task ValidKeyIsAnsweredAndUpstreamSeesItsIdNotASpoofedOneNorTheKey()
    {
        var headers = EdgeHarness.Bearer(EdgeHarness.TeamA);
        headers.Add("x-shepherd-api-key-id", "operator");

        var response = await Edge.Client.AnswerAsync(new AnswerRequest { Query = "1+1", RequestId = "r-1" }, headers);

        Assert.Equal("r-1", response.RequestId);
        Assert.StartsWith("replica-", response.Answer);
        Assert.Equal("team-a", response.FinalAnswer);
        Assert.Empty(response.Degradations);
    }

    [Fact]
    public async Task ForwardedIdentityIsSignedSoAClientsOwnIdentityHeadersCannotPass()
    {
        var headers = EdgeHarness.Bearer(EdgeHarness.TeamA);
        headers.Add("x-shepherd-api-key-admin", "true");
        headers.Add("x-shepherd-identity", "v1.1.forged");

        var team = await Edge.Client.AnswerAsync(new AnswerRequest { Query = "1+1" }, headers);
        var admin = await Edge.Client.AnswerAsync(new AnswerRequest { Query = "1+1" }, EdgeHarness.Bearer(EdgeHarness.Operator));

        Assert.Equal("team-a", team.FinalAnswer);
        Assert.Equal(["signed identity"], team.Path);
        Assert.Equal("operator", admin.FinalAnswer);
        Assert.Equal(["signed admin identity"], admin.Path);
    }

    [Fact]
    public async Task XApiKeyHeaderIsAcceptedToo()
    {
        var headers = new Metadata { { "x-api-key", EdgeHarness.TeamB.Secret } };

        var response = await Edge.Client.AnswerAsync(new AnswerRequest { Query = "1+1" }, headers);

        Assert.Equal("team-b", response.FinalAnswer);
        Assert.Empty(response.Degradations);
    }

    [Fact]
    public async Task KeyOverItsRateIsResourceExhaustedWhileAnotherKeyStillPasses()
    {
        var slow = EdgeHarness.Bearer(EdgeHarness.Slow);
        var answered = 0;
        var exhausted = new List<RpcException>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 8; i++)
        {
            try
            {
                await Edge.Client.AnswerAsync(new AnswerRequest { Query = "1+1" }, slow);
                answered++;
            }
            catch (RpcException ex)
            {
                exhausted.Add(ex);
            }
        }

        // Burst 3, one more per second: eight calls in a row cannot all pass.
        Assert.InRange(answered, 3, 3 + (int)Math.Ceiling(clock.Elapsed.TotalSeconds));
        Assert.NotEmpty(exhausted);
        Assert.All(exhausted, ex => Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode));
        Assert.Contains("'slow'", exhausted[0].Status.Detail);

        var other = await Edge.Client.AnswerAsync(new AnswerRequest { Query = "1+1" }, EdgeHarness.Bearer(EdgeHarness.TeamA));
        Assert.Equal("team-a", other.FinalAnswer);
    }

    [Fact]
    public async Task NonAdminKeyOnTheAdminRouteIsPermissionDenied()
    {
        var slm = new SlmService.SlmServiceClient(Edge.Channel);
        var before = Edge.Admin.Replica.Calls;

        var error = await Assert.ThrowsAsync<RpcException>(() => slm.InfoAsync(new SlmServiceInfoRequest(), EdgeHarness.Bearer(EdgeHarness.TeamA)).ResponseAsync);
        var policy = new PolicyService.PolicyServiceClient(Edge.Channel);
        var policyError = await Assert.ThrowsAsync<RpcException>(() => policy.InfoAsync(new PolicyServiceInfoRequest(), EdgeHarness.Bearer(EdgeHarness.TeamA)).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, policyError.StatusCode);
        Assert.Equal(before, Edge.Admin.Replica.Calls);
    }

    [Fact]
    public async Task AdminKeyOnTheAdminRouteIsForwardedToTheSlmCluster()
    {
        var slm = new SlmService.SlmServiceClient(Edge.Channel);

        var info = await slm.InfoAsync(new SlmServiceInfoRequest(), EdgeHarness.Bearer(EdgeHarness.Operator));

        Assert.Equal("slm-1", info.ModelName);
        Assert.Equal("operator", info.Backend);
    }

    [Fact]
    public async Task AdminRouteWithoutKeyIsUnauthenticated()
    {
        var slm = new SlmService.SlmServiceClient(Edge.Channel);

        var error = await Assert.ThrowsAsync<RpcException>(() => slm.InfoAsync(new SlmServiceInfoRequest()).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Fact]
    public async Task KeysNeverReachTheLogsOnlyKeyIdsDo()
    {
        await Edge.Client.AnswerAsync(new AnswerRequest { Query = "1+1" }, EdgeHarness.Bearer(EdgeHarness.TeamA));
        await Assert.ThrowsAsync<RpcException>(() => Edge.Client.AnswerAsync(new AnswerRequest(), new Metadata { { "x-api-key", "sk-leaked-guess-1234" } }).ResponseAsync);

        var logs = Edge.Logs.ToArray();
        Assert.Contains(logs, l => l.Contains("team-a", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.Contains("unknown API key", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, l => l.Contains("sk-", StringComparison.Ordinal));
    }
}
