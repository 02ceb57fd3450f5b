using Google.Rpc;
using Grpc.Core;
using Shepherd.Contracts.V1;
using static Shepherd.EndToEnd.Tests.EndToEndStack;

namespace Shepherd.EndToEnd.Tests;

/// <summary>What the edge refuses, and what the orchestrator behind it refuses, as a client of the edge sees it.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class EdgeGatekeepingTests(EndToEndStack stack)
{
    public static TheoryData<string> BadRequests => ["empty query", "unknown strategy", "alpha above 1", "alpha below 0", "K below k", "oversized query"];

    [SkippableFact]
    public async Task CallWithoutAKeyIsUnauthenticated()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var before = LlmCalls();

        var error = await Assert.ThrowsAsync<RpcException>(() => stack.Client.AnswerAsync(new AnswerRequest { Query = "What is 6 * 7?", Strategy = Strategy.Llm }).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal(before, LlmCalls());
    }

    [SkippableFact]
    public async Task AKeyReadsOnlyItsOwnUsageWhileAnAdminKeyReadsAnyKeys()
    {
        Skip.IfNot(HasModel, MissingModelReason);

        var own = await stack.Client.UsageAsync(new UsageRequest { ApiKeyId = Team.Id }, Team.Headers, deadline: DateTime.UtcNow.AddSeconds(30));
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await stack.Client.UsageAsync(new UsageRequest { ApiKeyId = Admin.Id }, Team.Headers, deadline: DateTime.UtcNow.AddSeconds(30)));
        var byAdmin = await stack.Client.UsageAsync(new UsageRequest { ApiKeyId = Team.Id }, Admin.Headers, deadline: DateTime.UtcNow.AddSeconds(30));

        Assert.All(own.Totals, t => Assert.Equal(Team.Id, t.ApiKeyId));
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal(own.TotalUsd, byAdmin.TotalUsd, tolerance: 1e-12);
    }

    [SkippableFact]
    public async Task KeyOverItsRateIsResourceExhaustedAtOnceWhileAnotherKeyPasses()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        // Tight: one permit a second, a bucket of one. Another test may have just emptied it: after a tick it is full
        // again, and of six calls sent together the first takes the permit.
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        var calls = Enumerable.Range(0, 6).Select(async _ =>
        {
            try
            {
                await stack.Client.UsageAsync(new UsageRequest(), Tight.Headers, deadline: DateTime.UtcNow.AddSeconds(30));
                return (Status: StatusCode.OK, Detail: "");
            }
            catch (RpcException ex)
            {
                return (Status: ex.StatusCode, Detail: ex.Status.Detail);
            }
        });
        var results = await Task.WhenAll(calls);
        var other = await stack.Client.UsageAsync(new UsageRequest(), Team.Headers, deadline: DateTime.UtcNow.AddSeconds(30));

        Assert.All(results, r => Assert.True(r.Status is StatusCode.OK or StatusCode.ResourceExhausted, $"unexpected {r.Status}"));
        Assert.Contains(results, r => r.Status == StatusCode.OK);
        var refused = results.Where(r => r.Status == StatusCode.ResourceExhausted).ToArray();
        Assert.NotEmpty(refused);
        Assert.All(refused, r => Assert.Contains("'tight'", r.Detail));
        Assert.NotNull(other);
    }

    [SkippableTheory]
    [MemberData(nameof(BadRequests))]
    public async Task BadRequestIsInvalidArgumentNamingTheFieldAndNeverReachesTheLlm(string bad)
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var request = new AnswerRequest { Query = "What is 6 * 7?", Strategy = Strategy.Llm };
        var field = bad switch
        {
            "empty query" => Set(() => request.Query = "", "query"),
            "unknown strategy" => Set(() => request.Strategy = (Strategy)99, "strategy"),
            "alpha above 1" => Set(() => request.Alpha = 1.5, "alpha"),
            "alpha below 0" => Set(() => request.Alpha = -0.1, "alpha"),
            "K below k" => Set(() => (request.Samples, request.Agree) = (2, 3), "agree"),
            "oversized query" => Set(() => request.Query = new string('7', 20_001), "query"),
            _ => throw new ArgumentOutOfRangeException(nameof(bad), bad, null),
        };
        var before = LlmCalls();

        var error = await Assert.ThrowsAsync<RpcException>(() => stack.Client.AnswerAsync(request, Team.Headers).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        // The google.rpc.Status details (grpc-status-details-bin) pass the edge unchanged.
        var violation = Assert.Single(Assert.Single(error.GetRpcStatus()!.Details).Unpack<BadRequest>().FieldViolations);
        Assert.Equal(field, violation.Field);
        Assert.Equal(before, LlmCalls());
    }

    [SkippableFact]
    public async Task AdminRoutesAnswerAnAdminKeyAndRefuseATeamKey()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(stack.EdgeAddress);
        var slm = new SlmService.SlmServiceClient(channel);

        var info = await slm.InfoAsync(new SlmServiceInfoRequest(), Admin.Headers);
        var denied = await Assert.ThrowsAsync<RpcException>(() => slm.InfoAsync(new SlmServiceInfoRequest(), Team.Headers).ResponseAsync);

        // The fixture's slm-service runs on one thread: this is that process answering.
        Assert.Equal(1, info.Threads);
        Assert.True(info.ContextSize > 0);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
    }

    private static string Set(Action change, string field)
    {
        change();
        return field;
    }

    private int LlmCalls() => stack.Replicas.Sum(r => r.Groq.RequestCount);
}
