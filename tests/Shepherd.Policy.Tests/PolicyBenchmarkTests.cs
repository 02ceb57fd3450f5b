using System.Diagnostics;
using Shepherd.Contracts.V1;
using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Encoding;
using Shepherd.Policy.Model.Prediction;
using Shepherd.Policy.Model.Training;
using Xunit.Abstractions;

namespace Shepherd.Policy.Tests;

/// <summary>
/// The benchmark of issue 15, opt-in: SHEPHERD_BENCH=1 dotnet test tests/Shepherd.Policy.Tests -c Release
/// --filter Category=Benchmark --logger "console;verbosity=detailed". In one run, side by side: decision quality
/// of the float32 and int8 encoders on the same labels, the embedding cache, the encoder session options, and
/// in-process against gRPC for both encoders. The in-process and gRPC measurements alternate in rounds and the
/// table shows each figure's median, so a noisy neighbour hits both sides alike. It prints; it asserts nothing
/// about speed.
/// </summary>
[Collection(PolicyCollection.Name)]
public sealed class PolicyBenchmarkTests(PolicyFixture fixture, ITestOutputHelper output)
{
    private const int Rounds = 5;
    private const int WarmupCalls = 300;

    private static readonly PolicyBenchOptions RoundOptions = new()
    {
        Warmup = 10,
        Iterations = 80,
        BatchSize = 32,
        Batches = 8,
        Concurrency = 8,
        ConcurrentCallsPerCaller = 8,
    };

    private static readonly PolicyBenchOptions SweepOptions = RoundOptions with { Iterations = 50, Batches = 3, Concurrency = 0 };

    [SkippableFact]
    [Trait("Category", "Benchmark")]
    public async Task PolicyPathSideBySide()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("SHEPHERD_BENCH") == "1", "set SHEPHERD_BENCH=1 to run the benchmark");
        var test = fixture.ProactiveLabels.Where(l => l.Split == LabelSplit.Test).ToArray();
        var queries = test.Select(l => l.Query).Distinct(StringComparer.Ordinal).ToArray();
        Line($"{Environment.ProcessorCount} cores, {queries.Length} distinct test queries, " +
             $"{queries.Average(q => fixture.Encoder.CountTokens(q)):0.0} tokens on average");
        var encoders = new (string Name, string Bundle, ITextEncoder Encoder)[]
        {
            ("MiniLM float32", fixture.ProactiveBundle, fixture.Encoder),
            ("MiniLM int8", fixture.Int8ProactiveBundle, fixture.Int8Encoder),
        };

        Quality(encoders, test);
        Cache();
        await SessionOptionsAsync(encoders, queries);
        await ServicePathAsync(encoders, queries);
    }

    private void Quality((string Name, string Bundle, ITextEncoder Encoder)[] encoders, LabelRecord[] test)
    {
        Line("");
        Line($"## Decision quality, same {fixture.ProactiveLabels.Count} generated labels and seed ({test.Length} test queries)");
        Line("| encoder | test AUC | test MAE n | val AUC | val MAE n |");
        Line("|---|---|---|---|---|");
        var aucs = new List<double>();
        foreach (var (name, bundle, encoder) in encoders)
        {
            using var predictor = PolicyPredictor.Load(bundle, encoder);
            var quality = PolicyQuality.Measure(predictor, test);
            var metrics = predictor.Manifest.Metrics;
            aucs.Add(quality.Auc);
            Line($"| {name} | {quality.Auc:0.0000} | {quality.MaeN:0.00} | {metrics["val_auc"]:0.0000} | {metrics["val_mae_n"]:0.00} |");
        }

        var difference = aucs[0] - aucs[1];
        Line($"AUC float32 − int8 = {difference:+0.0000;-0.0000}: " +
             (Math.Abs(difference) <= PolicyQuality.MaxInt8AucLoss ? "within" : "beyond") +
             $" the {PolicyQuality.MaxInt8AucLoss} the int8 default may cost; the trainer's default is " +
             new PolicyTrainingOptions().Encoder.Quantization.ToString());
    }

    private void Cache()
    {
        var directory = fixture.TempDirectory("cache-bench");
        var labels = Path.Combine(directory, "labels.jsonl");
        var subset = fixture.ProactiveLabels.Take(300).ToArray();
        LabelFile.WriteAll(labels, subset);
        var store = Path.Combine(directory, "embeddings.db");
        var spec = new PolicyTrainingOptions().Encoder;
        Line("");
        Line($"## Embedding cache: `train` twice on {subset.Length} labels, encoder {spec.Name} ({spec.Quantization})");
        for (var run = 1; run <= 2; run++)
        {
            var started = Stopwatch.GetTimestamp();
            using var encoder = StoredTextEncoder.Create(EmbeddingStore.Open(store), spec, ownsStore: true);
            PolicyTrainer.TrainFile(labels, Path.Combine(directory, $"bundle-{run}"), encoder, PolicyFixture.Options(Core.Policy.PolicyMode.Proactive));
            Line($"run {run}: {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s, {encoder.TextsEncoded} texts encoded, " +
                 $"{encoder.TextsFound} read from the cache, encoder loaded: {encoder.EncoderLoaded}");
        }
    }

    private async Task SessionOptionsAsync((string Name, string Bundle, ITextEncoder Encoder)[] encoders, string[] queries)
    {
        var defaults = new EncoderRuntimeOptions();
        var variants = new (string Name, EncoderRuntimeOptions Options)[]
        {
            ("default", defaults),
            ("spinning on", defaults with { AllowSpinning = true }),
            ("1 thread", defaults with { IntraOpThreads = 1 }),
            ("every core", defaults with { IntraOpThreads = Environment.ProcessorCount }),
            ("graph basic", defaults with { GraphOptimization = EncoderGraphOptimization.Basic }),
            ("arena off", defaults with { MemoryArena = false }),
        };
        Line("");
        Line($"## Encoder session options, in process (default: {defaults})");
        Line("| encoder | options | Predict p50 | PredictBatch |");
        Line("|---|---|---|---|");
        foreach (var (name, bundle, _) in encoders)
        {
            foreach (var (variant, options) in variants)
            {
                using var predictor = PolicyPredictor.Load(bundle, new PolicyPredictorOptions { Encoder = options });
                var report = await PolicyBench.RunInProcessAsync(TextWriter.Null, predictor, Queries(queries), SweepOptions);
                Line($"| {name} | {variant} | {report.SingleP50Ms:0.00} ms | {report.BatchQueriesPerSecond:0} q/s |");
            }
        }
    }

    private async Task ServicePathAsync((string Name, string Bundle, ITextEncoder Encoder)[] encoders, string[] queries)
    {
        var rows = new List<string>();
        var goals = new List<string>();
        foreach (var (name, bundle, _) in encoders)
        {
            using var predictor = PolicyPredictor.Load(bundle);
            await using var service = await PolicyServiceHostRunner.StartAsync($"--Policy:BundlePath={bundle}");
            await using var spinning = await PolicyServiceHostRunner.StartAsync($"--Policy:BundlePath={bundle}", "--Policy:EncoderAllowSpinning=true");

            // Steady state, as a long-running service is: the gRPC stack's code tiered up by the JIT. Ten warm-up calls
            // leave it in tier 0, where a unary call cost ~1 ms more in the first rounds than in the last.
            foreach (var host in new[] { service, spinning })
            {
                for (var i = 0; i < WarmupCalls; i++)
                {
                    await host.Client.PredictAsync(new PredictRequest { Query = queries[i % queries.Length] });
                }
            }

            for (var i = 0; i < WarmupCalls; i++)
            {
                predictor.Predict(new PolicyQuery(queries[i % queries.Length]));
            }

            var inProcess = new List<PolicyBenchReport>();
            var grpc = new List<PolicyBenchReport>();
            var grpcSpinning = new List<PolicyBenchReport>();
            for (var round = 0; round < Rounds; round++)
            {
                inProcess.Add(await PolicyBench.RunInProcessAsync(TextWriter.Null, predictor, Queries(queries), RoundOptions));
                grpc.Add(await OverGrpcAsync(service, queries));
                grpcSpinning.Add(await OverGrpcAsync(spinning, queries));
            }

            var p50 = Median(inProcess, r => r.SingleP50Ms);
            var grpcP50 = Median(grpc, r => r.SingleP50Ms);
            var batch = Median(inProcess, r => r.BatchQueriesPerSecond);
            var grpcBatch = Median(grpc, r => r.BatchQueriesPerSecond);
            rows.Add($"| {name} | {p50:0.00} ms | {grpcP50:0.00} ms | {Median(grpcSpinning, r => r.SingleP50Ms):0.00} ms | " +
                     $"{batch:0} q/s | {grpcBatch:0} q/s | {Median(grpcSpinning, r => r.BatchQueriesPerSecond):0} q/s | " +
                     $"{Median(inProcess, r => r.ConcurrentQueriesPerSecond):0} q/s | {Median(grpc, r => r.ConcurrentQueriesPerSecond):0} q/s |");
            var latencyGoal = 1.2 * p50 + 0.5;
            goals.Add($"{name}: gRPC Predict p50 {grpcP50:0.00} ms {(grpcP50 <= latencyGoal ? "≤" : ">")} 1.2 × {p50:0.00} + 0.5 = {latencyGoal:0.00} ms " +
                      $"({(grpcP50 <= latencyGoal ? "met" : "NOT met")}); gRPC PredictBatch {grpcBatch / batch:0.00} × in-process " +
                      $"({(grpcBatch >= 0.9 * batch ? "met" : "NOT met")}, goal ≥ 0.9)");
        }

        Line("");
        Line($"## Service path: medians of {Rounds} alternating rounds (defaults; the spinning columns: Policy:EncoderAllowSpinning=true)");
        Line("| encoder | in-process Predict p50 | gRPC Predict p50 | gRPC p50, spinning | in-process PredictBatch | gRPC PredictBatch | gRPC PredictBatch, spinning | in-process 8 callers | gRPC 8 callers |");
        Line("|---|---|---|---|---|---|---|---|---|");
        rows.ForEach(Line);
        goals.ForEach(Line);
    }

    private static Task<PolicyBenchReport> OverGrpcAsync(PolicyServiceHostRunner service, string[] queries) => PolicyBench.RunAsync(
        TextWriter.Null,
        "gRPC",
        queries,
        (q, ct) => service.Client.PredictAsync(new PredictRequest { Query = q }, cancellationToken: ct).ResponseAsync,
        async (batch, ct) =>
        {
            var request = new PredictBatchRequest();
            request.Requests.AddRange(batch.Select(q => new PredictRequest { Query = q }));
            await service.Client.PredictBatchAsync(request, cancellationToken: ct);
        },
        RoundOptions);

    private static PolicyQuery[] Queries(string[] queries) => queries.Select(q => new PolicyQuery(q)).ToArray();

    private static double Median(List<PolicyBenchReport> reports, Func<PolicyBenchReport, double> figure) =>
        PolicyBench.Percentile(reports.Select(figure).ToArray(), 0.5);

    private void Line(string text) => output.WriteLine(text);
}
