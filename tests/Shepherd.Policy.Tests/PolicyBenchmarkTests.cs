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
/// in-process against gRPC for both encoders. The in-process and gRPC calls are interleaved call by call
/// (<see cref="PolicyBench.CompareAsync"/>), so a noisy neighbour hits both sides alike. It prints; it asserts
/// nothing about speed. SHEPHERD_BENCH_SECTIONS=quality,cache,options,service picks sections.
/// </summary>
[Collection(PolicyCollection.Name)]
public sealed class PolicyBenchmarkTests(PolicyFixture fixture, ITestOutputHelper output)
{
    private const int WarmupCalls = 300;
    private const int BatchWarmupCalls = 3;
    private const int ConcurrentRounds = 3;

    private static readonly PolicyBenchOptions PairedOptions = new()
    {
        Warmup = 10,
        Iterations = 400,
        BatchSize = 32,
        Batches = 24,
        Concurrency = 8,
        ConcurrentCallsPerCaller = 16,
    };

    private static readonly PolicyBenchOptions SweepOptions = PairedOptions with { Iterations = 50, Batches = 3, Concurrency = 0 };

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

        if (Runs("quality"))
        {
            Quality(encoders, test);
        }

        if (Runs("cache"))
        {
            Cache();
        }

        if (Runs("options"))
        {
            await SessionOptionsAsync(encoders, queries);
        }

        if (Runs("service"))
        {
            await ServicePathAsync(encoders, queries);
        }
    }

    /// <summary>SHEPHERD_BENCH_SECTIONS=service,options (comma-separated) runs only those sections; unset runs all.</summary>
    private static bool Runs(string section) =>
        Environment.GetEnvironmentVariable("SHEPHERD_BENCH_SECTIONS") is not { Length: > 0 } sections
        || sections.Split(',', StringSplitOptions.TrimEntries).Contains(section, StringComparer.OrdinalIgnoreCase);

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
            var sides = new[] { PolicyBench.InProcess(predictor), OverGrpc("gRPC", service), OverGrpc("gRPC, spinning", spinning) };
            foreach (var side in sides)
            {
                for (var i = 0; i < WarmupCalls; i++)
                {
                    await side.PredictOne(queries[i % queries.Length], CancellationToken.None);
                }

                // A first PredictBatch costs ~0.5 s on every side (float32: OnnxRuntime's first run at batch shape).
                for (var i = 0; i < BatchWarmupCalls; i++)
                {
                    await side.PredictBatch(queries.Skip(i * PairedOptions.BatchSize).Take(PairedOptions.BatchSize).ToArray(), CancellationToken.None);
                }
            }

            var paired = await PolicyBench.CompareAsync(queries, sides, PairedOptions);
            var concurrent = sides.Select(_ => new List<double>()).ToArray();
            for (var round = 0; round < ConcurrentRounds; round++)
            {
                for (var s = 0; s < sides.Length; s++)
                {
                    concurrent[s].Add((await PolicyBench.ConcurrentAsync(queries, sides[s].PredictOne, PairedOptions)).QueriesPerSecond);
                }
            }

            var (inProcess, grpc, grpcSpinning) = (paired[0], paired[1], paired[2]);
            rows.Add($"| {name} | {inProcess.SingleP50Ms:0.00} ms | {grpc.SingleP50Ms:0.00} ms | {grpcSpinning.SingleP50Ms:0.00} ms | " +
                     $"{inProcess.BatchQueriesPerSecond:0} q/s | {grpc.BatchQueriesPerSecond:0} q/s | {grpcSpinning.BatchQueriesPerSecond:0} q/s | " +
                     $"{Median(concurrent[0]):0} q/s | {Median(concurrent[1]):0} q/s |");
            var latencyGoal = 1.2 * inProcess.SingleP50Ms + 0.5;
            var latencyMet = grpc.SingleP50Ms <= latencyGoal;
            var batchRatio = grpc.BatchQueriesPerSecond / inProcess.BatchQueriesPerSecond;
            goals.Add($"{name}: gRPC Predict p50 {grpc.SingleP50Ms:0.00} ms {(latencyMet ? "≤" : ">")} 1.2 × {inProcess.SingleP50Ms:0.00} + 0.5 = {latencyGoal:0.00} ms " +
                      $"({(latencyMet ? "met" : "NOT met")}); gRPC PredictBatch {batchRatio:0.00} × in-process " +
                      $"({(batchRatio >= 0.9 ? "met" : "NOT met")}, goal ≥ 0.9); p90 in-process {inProcess.SingleP90Ms:0.00} ms, gRPC {grpc.SingleP90Ms:0.00} ms; " +
                      $"PredictBatch call p50 / max in-process {inProcess.BatchCallP50Ms:0} / {inProcess.BatchCallMaxMs:0} ms, " +
                      $"gRPC {grpc.BatchCallP50Ms:0} / {grpc.BatchCallMaxMs:0} ms (call {grpc.BatchCallMaxIndex}), gRPC spinning {grpcSpinning.BatchCallP50Ms:0} / {grpcSpinning.BatchCallMaxMs:0} ms (call {grpcSpinning.BatchCallMaxIndex})");
        }

        Line("");
        Line($"## Service path: {PairedOptions.Iterations} Predict and {PairedOptions.Batches} PredictBatch calls per column, interleaved call by call " +
             $"(defaults; the spinning columns: Policy:EncoderAllowSpinning=true); 8 callers: median of {ConcurrentRounds} rounds");
        Line("| encoder | in-process Predict p50 | gRPC Predict p50 | gRPC p50, spinning | in-process PredictBatch | gRPC PredictBatch | gRPC PredictBatch, spinning | in-process 8 callers | gRPC 8 callers |");
        Line("|---|---|---|---|---|---|---|---|---|");
        rows.ForEach(Line);
        goals.ForEach(Line);
    }

    private static PolicyBenchSide OverGrpc(string label, PolicyServiceHostRunner service) => new(
        label,
        (q, ct) => service.Client.PredictAsync(new PredictRequest { Query = q }, cancellationToken: ct).ResponseAsync,
        async (batch, ct) =>
        {
            var request = new PredictBatchRequest();
            request.Requests.AddRange(batch.Select(q => new PredictRequest { Query = q }));
            await service.Client.PredictBatchAsync(request, cancellationToken: ct);
        });

    private static PolicyQuery[] Queries(string[] queries) => queries.Select(q => new PolicyQuery(q)).ToArray();

    private static double Median(List<double> values) => PolicyBench.Percentile(values, 0.5);

    private void Line(string text) => output.WriteLine(text);
}
