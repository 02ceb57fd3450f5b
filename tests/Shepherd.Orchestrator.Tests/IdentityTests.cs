using Grpc.Core;
using Shepherd.Contracts.V1;
using Shepherd.ServiceDefaults.Identity;

namespace Shepherd.Orchestrator.Tests;

/// <summary>
/// The orchestrator trusts a caller identity only with the edge's signature: unsigned, forged, re-flagged and stale
/// identities are refused with UNAUTHENTICATED before anything runs; a call without any identity is an internal
/// caller unless Identity:RequireIdentity is set.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class IdentityTests(StackFixture stack)
{
    [SkippableFact]
    public async Task ASignedIdentityIsTrustedAndAnUnsignedForgedReflaggedOrStaleOneIsUnauthenticated()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, logs) = await stack.StartOrchestratorAsync();
        var forged = StackFixture.SignedAs("team");
        forged.Remove(forged.Get(SignedIdentity.SignatureHeader)!);
        forged.Add(SignedIdentity.SignatureHeader, SignedIdentity.Sign("another-key-that-is-long-enough-0123456789"u8.ToArray(), "team", admin: false, DateTimeOffset.UtcNow));
        var reflagged = StackFixture.SignedAs("team");
        reflagged.Add(SignedIdentity.AdminHeader, "true");

        var signed = await client.UsageAsync(new UsageRequest(), StackFixture.SignedAs("team"));
        var refusals = new Dictionary<string, RpcException>
        {
            ["unsigned"] = await Refused(new Metadata { { SignedIdentity.KeyIdHeader, "team" } }),
            ["forged"] = await Refused(forged),
            ["admin flag added"] = await Refused(reflagged),
            ["stale"] = await Refused(StackFixture.SignedAs("team", at: DateTimeOffset.UtcNow.AddMinutes(-10))),
            ["from the future"] = await Refused(StackFixture.SignedAs("team", at: DateTimeOffset.UtcNow.AddMinutes(10))),
            ["malformed"] = await Refused(new Metadata { { SignedIdentity.KeyIdHeader, "team" }, { SignedIdentity.SignatureHeader, "v1.x.y" } }),
        };

        Assert.All(signed.Totals, t => Assert.Equal("team", t.ApiKeyId));
        Assert.All(refusals.Values, e => Assert.Equal(StatusCode.Unauthenticated, e.StatusCode));
        Assert.Equal("the caller identity is not signed", refusals["unsigned"].Status.Detail);
        Assert.Equal("identity signature does not match", refusals["forged"].Status.Detail);
        Assert.Equal("identity signature does not match", refusals["admin flag added"].Status.Detail);
        Assert.StartsWith("identity signature is stale", refusals["stale"].Status.Detail, StringComparison.Ordinal);
        Assert.StartsWith("identity signature is stale", refusals["from the future"].Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(StackFixture.IdentityKey, string.Join('\n', logs.Lines), StringComparison.Ordinal);

        async Task<RpcException> Refused(Metadata headers) =>
            await Assert.ThrowsAsync<RpcException>(() => client.AnswerAsync(new AnswerRequest { Query = "What is 2 + 2?", Strategy = Strategy.Llm }, headers).ResponseAsync);
    }

    [SkippableFact]
    public async Task AnIdentityIsRefusedWhereNoKeyCanVerifyItAndACallWithoutOneWhereOneIsRequired()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (unkeyed, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Identity:SigningKey"] = "" });
        var (strict, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Identity:RequireIdentity"] = "true" });

        var noKey = await Assert.ThrowsAsync<RpcException>(() => unkeyed.UsageAsync(new UsageRequest(), StackFixture.SignedAs("team")).ResponseAsync);
        var internalCaller = await unkeyed.UsageAsync(new UsageRequest { ApiKeyId = "team" });
        var anonymous = await Assert.ThrowsAsync<RpcException>(() => strict.UsageAsync(new UsageRequest()).ResponseAsync);
        var throughTheEdge = await strict.UsageAsync(new UsageRequest(), StackFixture.SignedAs("team"));

        Assert.Equal(StatusCode.Unauthenticated, noKey.StatusCode);
        Assert.Contains("no Identity:SigningKey", noKey.Status.Detail, StringComparison.Ordinal);
        Assert.NotNull(internalCaller);
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
        Assert.NotNull(throughTheEdge);
    }
}
