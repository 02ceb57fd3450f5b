using Shepherd.Contracts.V1;
using Shepherd.Policy.Model.Prediction;
using Xunit.Abstractions;

namespace Shepherd.Policy.Tests;

/// <summary>
/// The benchmark of the issue, opt-in: SHEPHERD_BENCH=1 dotnet test tests/Shepherd.Policy.Tests --filter Category=Benchmark
/// --logger "console;verbosity=detailed". Default encoder (packaged MiniLM), this machine's CPU.
/// </summary>
[Collection(PolicyCollection.Name)]
public sealed class PolicyBenchmarkTests(PolicyFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    [Trait("Category", "Benchmark")]
    public async Task PredictLatencyAndThroughputInProcessAndOverGrpc()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("SHEPHERD_BENCH") == "1", "set SHEPHERD_BENCH=1 to run the benchmark");
        var queries = fixture.ProactiveLabels.Where(l => l.Split == Core.Policy.LabelSplit.Test).Select(l => l.Query).ToArray();
        var writer = new StringWriter();

        using (var predictor = PolicyPredictor.Load(fixture.ProactiveBundle))
        {
            await PolicyBench.RunInProcessAsync(writer, predictor, queries.Select(q => new PolicyQuery(q)).ToArray());
        }

        await using var service = await PolicyServiceHostRunner.StartAsync($"--Policy:BundlePath={fixture.ProactiveBundle}");
        var report = await PolicyBench.RunAsync(
            writer,
            "gRPC",
            queries,
            (q, ct) => service.Client.PredictAsync(new PredictRequest { Query = q }, cancellationToken: ct).ResponseAsync,
            async (batch, ct) =>
            {
                var request = new PredictBatchRequest();
                request.Requests.AddRange(batch.Select(q => new PredictRequest { Query = q }));
                await service.Client.PredictBatchAsync(request, cancellationToken: ct);
            });

        output.WriteLine($"{Environment.ProcessorCount} cores, {queries.Length} distinct queries");
        output.WriteLine(writer.ToString());
        Assert.True(report.SingleP50Ms > 0);
    }
}
