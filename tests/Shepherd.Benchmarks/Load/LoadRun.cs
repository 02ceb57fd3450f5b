using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using Shepherd.Cli.Hosting;
using Shepherd.Contracts.V1;

namespace Shepherd.Load;

/// <summary>What one concurrency level of one strategy did: calls per status, latencies, peak memory per process.</summary>
public sealed record LoadLevel(
    string Strategy,
    int Concurrency,
    TimeSpan Elapsed,
    IReadOnlyDictionary<StatusCode, int> Statuses,
    IReadOnlyList<double> OkLatenciesMs,
    IReadOnlyList<double> AllLatenciesMs,
    IReadOnlyDictionary<string, ProcessMemory> Memory,
    IReadOnlyList<string> SampleErrors)
{
    /// <summary>OK answers per path taken (e.g. "slm.samples>policy.reactive>llm.hint>slm.with_hint").</summary>
    public IReadOnlyDictionary<string, int> Paths { get; init; } = new Dictionary<string, int>();

    /// <summary>Per stage of the OK answers: how often it ran and its median latency in ms.</summary>
    public IReadOnlyDictionary<string, (int Count, double P50Ms)> Stages { get; init; } = new Dictionary<string, (int, double)>();

    /// <summary>Hint tokens of the OK answers that bought a hint.</summary>
    public IReadOnlyList<int> HintTokens { get; init; } = [];

    /// <summary>Where the OK answers' time went: the path mix, hint lengths and the median of each stage.</summary>
    public string DescribeStages()
    {
        var paths = string.Join(", ", Paths.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}"));
        var stages = string.Join(", ", Stages.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key} {s.Value.P50Ms:0} ms ×{s.Value.Count}")));
        var hints = HintTokens.Count == 0 ? "none" : string.Create(CultureInfo.InvariantCulture,
            $"{HintTokens.Count}, tokens p50 {Percentile([.. HintTokens.Select(t => (double)t)], 0.5):0} max {HintTokens.Max()}");
        return $"    paths: {paths}\n    hints: {hints}\n    stage p50: {stages}";
    }

    public int Calls => Statuses.Values.Sum();

    public int Ok => Statuses.GetValueOrDefault(StatusCode.OK);

    public double Throughput => Ok / Elapsed.TotalSeconds;

    public string Describe()
    {
        var statuses = string.Join(", ", Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}"));
        var memory = string.Join(", ", Memory.Select(m => $"{Short(m.Key)} {m.Value.MaxRssBytes / 1048576.0:0}/{m.Value.PeakRssBytes / 1048576.0:0} MB"));
        return string.Create(CultureInfo.InvariantCulture,
            $"{Strategy,-8} c={Concurrency,-3} {Throughput,7:0.00} ok/s  p50 {Percentile(OkLatenciesMs, 0.5),8:0} ms  p99 {Percentile(OkLatenciesMs, 0.99),8:0} ms  calls {Calls,5}  [{statuses}]  rss max/hwm: {memory}");
    }

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = p * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo));
    }

    private static string Short(string service) => service.Replace("Shepherd.", "", StringComparison.Ordinal).ToLowerInvariant();
}

/// <summary>Resident memory of one process: the largest VmRSS sampled during a level, and VmHWM (its peak since start).</summary>
public sealed record ProcessMemory(long MaxRssBytes, long PeakRssBytes);

/// <summary>
/// The four services as real processes (LocalStack: edge, orchestrator, slm-service on the fixture model, policy),
/// driven with Answer through the edge at a fixed concurrency for a bounded time per level. The development key's
/// token bucket is opened wide so the backends, not the edge's per-key rate limit, meet the load.
/// </summary>
public sealed class LoadRun : IAsyncDisposable
{
    /// <summary>Long enough that a call only meets it when something hangs; short enough to bound a level.</summary>
    public static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(120);

    // GSM8K-shaped questions of different lengths (the 2-shot prompt the orchestrator wraps them in is ~700 tokens).
    private static readonly string[] Queries =
    [
        "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?",
        "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?",
        "Betty is saving money for a new wallet which costs $100. Betty has only half of the money she needs. Her parents decided to give her $15 for that purpose, and her grandparents twice as much as her parents. How much more money does Betty need to buy the wallet?",
        "James writes a 3-page letter to 2 different friends twice a week. How many pages does he write a year?",
        "What is 17 * 3?",
    ];

    private readonly LocalStack _stack;
    private readonly GrpcChannel _channel;
    private readonly string _home;

    private LoadRun(LocalStack stack, string home)
    {
        _stack = stack;
        _home = home;
        _channel = GrpcChannel.ForAddress(stack.EdgeAddress, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan },
        });
    }

    public LocalStack Stack => _stack;

    /// <param name="orchestratorSettings">
    /// Orchestrator environment overrides; CI passes short generation caps (<c>Orchestrator__SlmMaxTokens</c>,
    /// <c>Llm__MaxAnswerTokens</c>) so the toy model, which never stops on its own, spends the test on concurrency and
    /// not on writing 512-token stories.
    /// </param>
    /// <param name="slmSettings">slm-service environment overrides (CI: one decode thread, see the Load test).</param>
    public static async Task<LoadRun> StartAsync(CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? orchestratorSettings = null, IReadOnlyDictionary<string, string>? slmSettings = null)
    {
        var home = Directory.CreateTempSubdirectory("shepherd-load-").FullName;
        try
        {
            var stack = await LocalStack.StartAsync(StackPorts.Ephemeral, null, home, orchestratorSettings, cancellationToken, new Dictionary<string, string>
            {
                ["Edge__ApiKeys__0__PermitsPerSecond"] = "100000",
                ["Edge__ApiKeys__0__Burst"] = "100000",
            }, slmSettings);
            return new LoadRun(stack, home);
        }
        catch
        {
            Directory.Delete(home, recursive: true);
            throw;
        }
    }

    public async Task<LoadLevel> RunLevelAsync(Strategy strategy, int concurrency, TimeSpan duration, CancellationToken cancellationToken)
    {
        var client = new ShepherdService.ShepherdServiceClient(_channel);
        var headers = new Metadata { { "authorization", $"Bearer {_stack.ApiKey}" } };
        var statuses = new ConcurrentDictionary<StatusCode, int>();
        var ok = new ConcurrentBag<double>();
        var all = new ConcurrentBag<double>();
        var errors = new ConcurrentQueue<string>();
        var answers = new ConcurrentQueue<AnswerResponse>();
        var maxRss = _stack.Services.ToDictionary(s => s.Name, _ => 0L);
        var clock = Stopwatch.StartNew();
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                SampleRss(maxRss);
                await Task.Delay(250, CancellationToken.None);
            }
        }, CancellationToken.None);

        var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            for (var i = worker; clock.Elapsed < duration && !cancellationToken.IsCancellationRequested; i += concurrency)
            {
                var request = new AnswerRequest { Query = Queries[i % Queries.Length], Task = TaskKind.Gsm8K, Strategy = strategy };
                var started = Stopwatch.GetTimestamp();
                StatusCode status;
                try
                {
                    var response = await client.AnswerAsync(request, headers, DateTime.UtcNow + CallDeadline, cancellationToken);
                    answers.Enqueue(response);
                    status = StatusCode.OK;
                }
                catch (RpcException ex)
                {
                    status = ex.StatusCode;
                    if (errors.Count < 8)
                    {
                        errors.Enqueue($"{ex.StatusCode}: {ex.Status.Detail}");
                    }
                }

                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                all.Add(ms);
                if (status == StatusCode.OK)
                {
                    ok.Add(ms);
                }

                statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            }
        }, CancellationToken.None)).ToArray();

        await Task.WhenAll(workers);
        var elapsed = clock.Elapsed;
        await sampling.CancelAsync();
        await sampler;
        SampleRss(maxRss);
        var memory = _stack.Services.ToDictionary(s => s.Name, s => new ProcessMemory(maxRss[s.Name], ReadStatusKb(s.ProcessId, "VmHWM:") * 1024));
        return new LoadLevel(strategy.ToString().ToLowerInvariant(), concurrency, elapsed, new Dictionary<StatusCode, int>(statuses), [.. ok], [.. all], memory, [.. errors])
        {
            Paths = answers.GroupBy(a => string.Join('>', a.Path), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            Stages = answers.SelectMany(a => a.Latencies).GroupBy(l => l.Stage, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => (g.Count(), LoadLevel.Percentile([.. g.Select(l => l.Ms)], 0.5)), StringComparer.Ordinal),
            HintTokens = [.. answers.Where(a => a.Hint is { Tokens: > 0 }).Select(a => a.Hint.Tokens)],
        };
    }

    /// <summary>Which services have exited (a crash under load), with their last output.</summary>
    public string DeadServices()
    {
        var dead = new StringBuilder();
        foreach (var service in _stack.Services.Where(s => s.ExitCode is not null))
        {
            dead.AppendLine(CultureInfo.InvariantCulture, $"{service.Name} exited with code {service.ExitCode}:\n{service.RecentLog()}");
        }

        return dead.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _stack.DisposeAsync();
        Directory.Delete(_home, recursive: true);
    }

    private void SampleRss(Dictionary<string, long> maxRss)
    {
        foreach (var service in _stack.Services)
        {
            var rss = ReadStatusKb(service.ProcessId, "VmRSS:") * 1024;
            lock (maxRss)
            {
                maxRss[service.Name] = Math.Max(maxRss[service.Name], rss);
            }
        }
    }

    private static long ReadStatusKb(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }
}
