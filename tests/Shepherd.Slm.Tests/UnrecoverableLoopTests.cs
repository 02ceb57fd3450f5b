using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Shepherd.Contracts.V1;
using Shepherd.Slm.Inference;

namespace Shepherd.Slm.Tests;

/// <summary>A service of its own: these tests break its decode loop for good.</summary>
public sealed class BreakableFixture : SlmServiceFixture
{
    public BreakableFixture()
        : base(maxSequences: 4, maxQueue: 8, contextSize: 256, batchTokens: 64)
    {
    }
}

/// <summary>
/// A decode loop that cannot recover must say so: health turns NOT_SERVING (so balancers move traffic away) and
/// requests fail fast with UNAVAILABLE. Requests that fail on their own while the context still works must not.
/// </summary>
public sealed class UnrecoverableLoopTests(BreakableFixture fixture) : IClassFixture<BreakableFixture>
{
    [SkippableFact]
    public async Task RequestsThatFailAloneWhileTheContextWorksNeverTakeTheServiceDownButABrokenContextDoes()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);
        var client = fixture.Client;
        var health = new Health.HealthClient(fixture.Channel);
        var engine = fixture.Services!.GetRequiredService<GenerationEngine>();
        var request = new GenerateRequest { Prompt = "Once upon a time", MaxTokens = 4, Seed = 7 };

        // Arrange 1: a request that always fails to decode, while the one-token probe still works.
        engine.FaultInjector = spec => spec?.Seed == 7;
        for (var i = 0; i < 8; i++)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => client.GenerateAsync(request).ResponseAsync);
            Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        }

        Assert.Equal(0, (await client.InfoAsync(new SlmServiceInfoRequest())).ContextResets);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);

        // Arrange 2: nothing decodes any more, the probe included; a rebuilt context does not help either.
        engine.FaultInjector = _ => true;
        for (var i = 0; i < 6; i++)
        {
            await Assert.ThrowsAsync<RpcException>(() => client.GenerateAsync(request).ResponseAsync);
        }

        var info = await client.InfoAsync(new SlmServiceInfoRequest());
        var status = (await health.CheckAsync(new HealthCheckRequest())).Status;
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.GenerateAsync(new GenerateRequest { Prompt = "Once", MaxTokens = 2, Seed = 1 }).ResponseAsync);

        Assert.Equal(1, info.ContextResets);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, status);
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("not serving", refused.Status.Detail, StringComparison.Ordinal);
    }
}
