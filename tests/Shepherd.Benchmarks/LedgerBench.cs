using System.Diagnostics;
using System.Globalization;
using Shepherd.Llm;
using Shepherd.Llm.Storage;

namespace Shepherd.Benchmarks;

/// <summary>
/// The ledger alone: rows per second committed (each RecordAsync returns only once its row is durable) by 1, 8 and
/// 32 concurrent writers, on a SQLite file in a temporary directory on disk (WAL, synchronous=FULL, as deployed)
/// and, when SHEPHERD_TEST_POSTGRES names a server, on PostgreSQL. Less noisy than `answer`: no gRPC, no HTTP.
/// Args: [seconds per point, default 3].
/// </summary>
public static class LedgerBench
{
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        var duration = TimeSpan.FromSeconds(seconds);
        var work = Directory.CreateTempSubdirectory("shepherd-ledger-bench").FullName;
        try
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Ledger RecordAsync, {seconds:F0} s per point after 1 s warm-up, {Environment.ProcessorCount} cores"));
            output.WriteLine("store       conc     rows    rows/s    p50 ms   p99 ms");
            await RunStoreAsync("sqlite", new StorageOptions { SqlitePath = Path.Combine(work, "ledger.db") }, duration, output);
            var postgres = Environment.GetEnvironmentVariable("SHEPHERD_TEST_POSTGRES");
            if (!string.IsNullOrWhiteSpace(postgres))
            {
                await RunStoreAsync("postgres", new StorageOptions { PostgresConnectionString = postgres }, duration, output);
            }
            else
            {
                output.WriteLine("postgres    skipped: SHEPHERD_TEST_POSTGRES is not set");
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(work, recursive: true);
        }

        return 0;
    }

    private static async Task RunStoreAsync(string name, StorageOptions storage, TimeSpan duration, TextWriter output)
    {
        var ledger = PaidLlmFactory.Ledger(storage);
        try
        {
            var key = "bench-" + Guid.NewGuid().ToString("N")[..8];
            foreach (var concurrency in new[] { 1, 8, 32 })
            {
                await MeasureAsync(ledger, key, concurrency, TimeSpan.FromSeconds(1));
                var latencies = await MeasureAsync(ledger, key, concurrency, duration);
                output.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{name,-10} {concurrency,5} {latencies.Count,8} {latencies.Count / duration.TotalSeconds,9:F0} {Stats.Percentile(latencies, 0.5),9:F3} {Stats.Percentile(latencies, 0.99),8:F3}"));
            }
        }
        finally
        {
            switch (ledger)
            {
                case IAsyncDisposable a: await a.DisposeAsync(); break;
                case IDisposable d: d.Dispose(); break;
            }
        }
    }

    private static async Task<List<double>> MeasureAsync(ILedger ledger, string key, int concurrency, TimeSpan duration)
    {
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, concurrency).Select(async worker =>
        {
            await Task.Yield();
            var latencies = new List<double>(1 << 14);
            var request = $"{key}-{worker}";
            while (Stopwatch.GetTimestamp() < end)
            {
                var start = Stopwatch.GetTimestamp();
                await ledger.RecordAsync(new LedgerEntry(DateTimeOffset.UtcNow, request, key, "llm", "llm", "llama-3.3-70b-versatile", 120, 40, 0.0001, false, true), CancellationToken.None);
                latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            return latencies;
        }).ToArray();
        return (await Task.WhenAll(workers)).SelectMany(l => l).ToList();
    }
}
