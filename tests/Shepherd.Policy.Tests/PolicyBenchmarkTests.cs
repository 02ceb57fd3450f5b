using Shepherd.Contracts.V1;
using Shepherd.Policy.Model.Encoding;
using Shepherd.Policy.Model.Prediction;
using Shepherd.Policy.Model.Training;
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
        var int8Bundle = Path.Combine(fixture.TempDirectory("int8"), "bundle");
        var int8Options = PolicyFixture.Options(Core.Policy.PolicyMode.Proactive) with
        {
            Encoder = EncoderSpec.Default with { Quantization = EncoderQuantization.DynamicInt8 },
        };
        PolicyTrainer.Train(fixture.ProactiveLabels, int8Options).Save(int8Bundle);
        output.WriteLine($"{Environment.ProcessorCount} cores, {queries.Length} distinct queries, " +
            $"{queries.Average(q => fixture.Encoder.CountTokens(q)):0.0} tokens on average");

        foreach (var (name, bundle) in new[] { ("MiniLM float32 (default)", fixture.ProactiveBundle), ("MiniLM dynamic int8", int8Bundle) })
        {
            var writer = new StringWriter();
            using (var predictor = PolicyPredictor.Load(bundle))
            {
                await PolicyBench.RunInProcessAsync(writer, predictor, queries.Select(q => new PolicyQuery(q)).ToArray());
            }

            await using var service = await PolicyServiceHostRunner.StartAsync($"--Policy:BundlePath={bundle}");
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

            output.WriteLine(name);
            output.WriteLine(writer.ToString());
            Assert.True(report.SingleP50Ms > 0);
        }
    }
}
