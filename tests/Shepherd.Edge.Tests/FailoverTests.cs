using Grpc.Core;
using Shepherd.Contracts.V1;
using Yarp.ReverseProxy.Model;

namespace Shepherd.Edge.Tests;

/// <summary>Each test owns its edge and replicas: it stops one.</summary>
public sealed class FailoverTests
{
    private static readonly Metadata Key = EdgeHarness.Bearer(EdgeHarness.TeamA);

    [Fact]
    public async Task StoppedReplicaCostsNoFailedCallAndActiveHealthTakesItOut()
    {
        await using var edge = await EdgeHarness.StartAsync();
        await WarmUpAsync(edge);

        await edge.Replicas[1].StopAsync();
        // Connects to the stopped replica fail; the edge sends those calls to the other replica.
        for (var i = 0; i < 30; i++)
        {
            var response = await edge.Client.AnswerAsync(new AnswerRequest { Query = "1+1" }, Key);
            Assert.Equal("replica-1", response.Answer);
        }

        Assert.Contains(edge.Logs, l => l.Contains("Connect to d2[127.0.0.1] of cluster orchestrator failed; retrying", StringComparison.Ordinal));

        await WaitUntilAsync(() => edge.ActiveHealth("d2") == DestinationHealth.Unhealthy, TimeSpan.FromSeconds(10));
        Assert.Equal(DestinationHealth.Healthy, edge.ActiveHealth("d1"));
    }

    [Fact]
    public async Task WithoutRetriesAFailedUpstreamIsUnavailableUntilPassiveHealthTakesItOut()
    {
        await using var edge = await EdgeHarness.StartAsync(configure: c =>
        {
            c["Edge:ConnectRetries"] = "0";
            c["ReverseProxy:Clusters:orchestrator:HealthCheck:Active:Enabled"] = "false";
        });
        await WarmUpAsync(edge);

        await edge.Replicas[1].StopAsync();
        var unavailable = 0;
        var consecutive = 0;
        for (var i = 0; i < 300 && consecutive < 30; i++)
        {
            try
            {
                await edge.Client.AnswerAsync(new AnswerRequest { Query = "1+1" }, Key);
                consecutive++;
            }
            catch (RpcException ex)
            {
                Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
                Assert.Equal("upstream unavailable", ex.Status.Detail);
                unavailable++;
                consecutive = 0;
            }
        }

        Assert.True(unavailable > 0, "the stopped replica was never chosen");
        Assert.Equal(30, consecutive);
    }

    private static async Task WarmUpAsync(EdgeHarness edge)
    {
        for (var i = 0; i < 10; i++)
        {
            await edge.Client.AnswerAsync(new AnswerRequest { Query = "1+1" }, Key);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(50);
        }
    }
}
