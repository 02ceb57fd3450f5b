using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Shepherd.Contracts.V1;

namespace Shepherd.Orchestrator.Tests;

/// <summary>
/// A backend that restarts is used again at once: the orchestrator's channels back off for at most
/// Orchestrator:ReconnectMaxBackoffMs (1 s), not grpc-dotnet's default of up to 120 s.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class ReconnectTests(StackFixture stack)
{
    [SkippableFact]
    public async Task ARestartedPolicyServiceIsUsedAgainWithinAFewCalls()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var url = $"http://127.0.0.1:{FreePort().ToString(CultureInfo.InvariantCulture)}";
        var started = new List<WebApplication>();
        await stack.StartPolicyAsync(url, started);
        var (client, orchestrator, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Orchestrator:PolicyAddress"] = url });
        var request = new AnswerRequest { Query = "What is 17 * 3?", Task = TaskKind.Gsm8K, Strategy = Strategy.Proactive };
        try
        {
            var before = await client.AnswerAsync(request);
            await stack.StopAsync(started[0]);
            var whileDown = await client.AnswerAsync(request);
            await stack.StartPolicyAsync(url, started);

            // Bounded polling, not a timing assertion: with the old backoff (1 s growing towards 120 s) the
            // 20 calls 250 ms apart ran out before the channel tried again.
            AnswerResponse? after = null;
            for (var i = 0; i < 20 && after is not { Trace.PolicyBundleId.Length: > 0 }; i++)
            {
                await Task.Delay(250);
                after = await client.AnswerAsync(request);
            }

            Assert.NotEmpty(before.Trace.PolicyBundleId);
            Assert.Empty(whileDown.Trace.PolicyBundleId);
            Assert.True(whileDown.Degraded);
            Assert.NotEmpty(after!.Trace.PolicyBundleId);
        }
        finally
        {
            await stack.StopAsync(orchestrator);
            if (started.Count > 1)
            {
                await stack.StopAsync(started[^1]);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
