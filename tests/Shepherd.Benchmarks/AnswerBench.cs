using System.Diagnostics;
using System.Globalization;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Shepherd.Contracts.V1;
using Shepherd.Edge;
using Shepherd.Edge.Auth;
using Shepherd.Orchestrator;
using Shepherd.TestSupport;

namespace Shepherd.Benchmarks;

/// <summary>
/// What edge and orchestrator add to an Answer whose model is a stand-in. Strategy llm, so the only model on the
/// path is the Groq stand-in (a Kestrel server speaking Groq's wire format, answering at once): the SLM and the
/// policy are not called, and the figures are the serving stack's own cost, not a model's. Three modes, each
/// timed for a fixed duration at concurrency 1, 8 and 32 after a warm-up, all in one run:
///   groq          HTTP POST of the very body the orchestrator sends, straight to the stand-in;
///   orchestrator  gRPC Answer to the orchestrator (validation, prompt, LLM call, cost, SQLite ledger row);
///   edge          gRPC Answer through the edge (key check, token bucket, YARP over h2c) to that orchestrator.
/// The hint cache is off (otherwise every call after the first is a cache hit that never reaches the stand-in);
/// the ledger is on, as deployed: one SQLite row per call, WAL with synchronous=FULL. Logging is at Warning in
/// every host. All hosts and the load driver share this machine's cores, so concurrency 8 and 32 are CPU-bound; read the
/// concurrency-1 p50 differences as the added latency. Args: [seconds per mode, default 3].
/// With <c>openAi</c> (the <c>openai</c> benchmark) the modes are gRPC Answer through the edge and the same
/// request as POST /v1/chat/completions over HTTP/1.1 through the edge (how OpenAI SDKs call), interleaved in one run.
/// </summary>
public static class AnswerBench
{
    private const string Key = "sk-bench-answer-0000000000";
    private const string Query = "Tom has 3 apples and buys 4 more. He doubles them. How many apples does he have?";

    public static async Task<int> RunAsync(string[] args, TextWriter output, bool openAi = false)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        var duration = TimeSpan.FromSeconds(seconds);
        var work = Directory.CreateTempSubdirectory("shepherd-answer-bench").FullName;
        try
        {
            await using var groq = await GroqStandIn.StartAsync();
            var keyFile = Path.Combine(work, "groq.key");
            await File.WriteAllTextAsync(keyFile, GroqStandIn.ValidKey);

            // Each host gets its whole configuration here, with an empty content root: this project's output holds
            // other hosts' appsettings.json, so none is read.
            await using var orchestrator = OrchestratorApp.Build(["--urls", "http://127.0.0.1:0", "--contentRoot", work], b =>
            {
                var c = b.Configuration;
                c["Logging:LogLevel:Default"] = "Warning";
                c["Orchestrator:SlmAddress"] = "http://127.0.0.1:1";
                c["Orchestrator:PolicyAddress"] = "";
                c["Llm:BaseUrl"] = groq.BaseUrl;
                c["Llm:ApiKeyFile"] = keyFile;
                c["Llm:ApiKeyVariable"] = "SHEPHERD_BENCH_UNSET_GROQ_KEY";
                c["Storage:SqlitePath"] = Path.Combine(work, "ledger.db");
                c["Storage:HintCacheEnabled"] = "false";
                c["Identity:SigningKey"] = IdentityKey;
            });
            await orchestrator.StartAsync();
            var orchestratorAddress = AddressOf(orchestrator);

            var http1Url = $"http://127.0.0.1:{FreePort().ToString(CultureInfo.InvariantCulture)}";
            await using var edge = EdgeApp.Build(["--urls", "http://127.0.0.1:0", "--contentRoot", work], b =>
            {
                ConfigureEdge(b, orchestratorAddress, Key);
                b.Configuration["Edge:Http1Url"] = http1Url;
                b.Configuration["ReverseProxy:Routes:openai:ClusterId"] = "orchestrator";
                b.Configuration["ReverseProxy:Routes:openai:Match:Path"] = "/v1/{**rest}";
                b.Configuration["ReverseProxy:Routes:openai:Metadata:Shepherd.Errors"] = "OpenAi";
            });
            await edge.StartAsync();
            var edgeAddress = edge.Urls.First(u => u != http1Url);

            using var edgeChannel = GrpcChannel.ForAddress(edgeAddress);
            using var orchestratorChannel = GrpcChannel.ForAddress(orchestratorAddress);
            var viaEdge = new ShepherdService.ShepherdServiceClient(edgeChannel);
            var direct = new ShepherdService.ShepherdServiceClient(orchestratorChannel);
            var headers = new Metadata { { "authorization", $"Bearer {Key}" } };
            var request = new AnswerRequest { Query = Query, Task = TaskKind.Gsm8K, Strategy = Strategy.Llm };

            // The stand-in is called with exactly what the orchestrator sends it for this Answer.
            var first = await direct.AnswerAsync(request);
            var body = groq.Requests[^1].ToJsonString();
            using var http = new HttpClient();
            http.DefaultRequestHeaders.Authorization = new("Bearer", GroqStandIn.ValidKey);
            var completions = groq.BaseUrl + "/chat/completions";

            using var openAiHttp = new HttpClient();
            openAiHttp.DefaultRequestHeaders.Authorization = new("Bearer", Key);
            var chat = $$$"""{"model":"shepherd-llm","messages":[{"role":"user","content":"{{{Query}}}"}],"shepherd":{"task":"gsm8k"}}""";
            var openAiModes = new (string Name, Func<Task> Call)[]
            {
                ("edge", async () => await viaEdge.AnswerAsync(request, headers)),
                ("openai", async () =>
                {
                    using var content = new StringContent(chat, Encoding.UTF8, "application/json");
                    using var response = await openAiHttp.PostAsync(http1Url + "/v1/chat/completions", content);
                    var text = await response.Content.ReadAsStringAsync();
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new InvalidOperationException($"HTTP {(int)response.StatusCode}: {text}");
                    }
                }),
            };
            if (openAi)
            {
                await CompareAsync(openAiModes, duration, output);
                await edge.StopAsync();
                await orchestrator.StopAsync();
                return 0;
            }

            var modes = new (string Name, Func<Task> Call)[]
            {
                ("groq", async () =>
                {
                    using var content = new StringContent(body, Encoding.UTF8, "application/json");
                    using var response = await http.PostAsync(completions, content);
                    response.EnsureSuccessStatusCode();
                    await response.Content.ReadAsByteArrayAsync();
                }),
                ("orchestrator", async () => await direct.AnswerAsync(request)),
                ("edge", async () => await viaEdge.AnswerAsync(request, headers)),
            };

            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"Answer (strategy llm, Groq stand-in on loopback; path {string.Join('>', first.Path)}, ${first.Cost.TotalUsd:F8} a call), {seconds:F0} s per mode after 1 s warm-up, {Environment.ProcessorCount} cores shared by driver, edge, orchestrator and stand-in"));
            output.WriteLine("mode          conc   calls     req/s    p50 ms   p99 ms");
            var results = new Dictionary<(string, int), (double P50, double P99)>();
            foreach (var concurrency in new[] { 1, 8, 32 })
            {
                foreach (var (name, call) in modes)
                {
                    await MeasureAsync(call, concurrency, TimeSpan.FromSeconds(1));
                    var latencies = await MeasureAsync(call, concurrency, duration);
                    var p50 = Stats.Percentile(latencies, 0.5);
                    var p99 = Stats.Percentile(latencies, 0.99);
                    results[(name, concurrency)] = (p50, p99);
                    output.WriteLine(string.Create(
                        CultureInfo.InvariantCulture,
                        $"{name,-13} {concurrency,4} {latencies.Count,7} {latencies.Count / duration.TotalSeconds,9:F0} {p50,9:F3} {p99,8:F3}"));
                }
            }

            foreach (var concurrency in new[] { 1, 8, 32 })
            {
                var (g, o, e) = (results[("groq", concurrency)], results[("orchestrator", concurrency)], results[("edge", concurrency)]);
                output.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"concurrency {concurrency}: added by the orchestrator p50 {o.P50 - g.P50:F3} ms (p99 {o.P99 - g.P99:F3}); by the edge p50 {e.P50 - o.P50:F3} ms (p99 {e.P99 - o.P99:F3}){(concurrency == 1 ? ", goal < 1 ms" : "")}; edge + orchestrator p50 {e.P50 - g.P50:F3} ms"));
            }

            await edge.StopAsync();
            await orchestrator.StopAsync();
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(work, recursive: true);
        }

        return 0;
    }

    /// <summary>gRPC Answer vs the OpenAI API through the edge, alternating rounds so both meet the same machine load.</summary>
    private static async Task CompareAsync((string Name, Func<Task> Call)[] modes, TimeSpan duration, TextWriter output)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Answer (strategy llm, task gsm8k, Groq stand-in on loopback) through the edge: gRPC (h2c) vs POST /v1/chat/completions (HTTP/1.1), 3 alternating rounds of {duration.TotalSeconds:F0} s per mode after 1 s warm-up, {Environment.ProcessorCount} cores"));
        output.WriteLine("mode          conc   calls     req/s    p50 ms   p99 ms");
        foreach (var concurrency in new[] { 1, 8 })
        {
            var all = modes.ToDictionary(m => m.Name, _ => new List<double>());
            foreach (var (_, call) in modes)
            {
                await MeasureAsync(call, concurrency, TimeSpan.FromSeconds(1));
            }

            for (var round = 0; round < 3; round++)
            {
                foreach (var (name, call) in modes)
                {
                    all[name].AddRange(await MeasureAsync(call, concurrency, duration));
                }
            }

            foreach (var (name, latencies) in all)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-13} {concurrency,4} {latencies.Count,7} {latencies.Count / (3 * duration.TotalSeconds),9:F0} {Stats.Percentile(latencies, 0.5),9:F3} {Stats.Percentile(latencies, 0.99),8:F3}"));
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"concurrency {concurrency}: added by the OpenAI API over gRPC Answer through the edge, p50 {Stats.Percentile(all["openai"], 0.5) - Stats.Percentile(all["edge"], 0.5):F3} ms"));
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The edge's orchestrator route and cluster (as in its appsettings.json) with a key no rate limit slows.</summary>
    /// <summary>The edge signs the key id it forwards with this; the orchestrator verifies it (README, "Operate it").</summary>
    internal const string IdentityKey = "answer-bench-identity-signing-key-0123456789";

    internal static void ConfigureEdge(WebApplicationBuilder b, string orchestratorAddress, string key)
    {
        var c = b.Configuration;
        c["Logging:LogLevel:Default"] = "Warning";
        c["Identity:SigningKey"] = IdentityKey;
        c["ReverseProxy:Routes:shepherd:ClusterId"] = "orchestrator";
        c["ReverseProxy:Routes:shepherd:Match:Path"] = "/shepherd.v1.ShepherdService/{**rest}";
        c["ReverseProxy:Routes:shepherd:Metadata:Shepherd.Access"] = "Key";
        c["ReverseProxy:Clusters:orchestrator:LoadBalancingPolicy"] = "PowerOfTwoChoices";
        c["ReverseProxy:Clusters:orchestrator:HttpRequest:Version"] = "2";
        c["ReverseProxy:Clusters:orchestrator:HttpRequest:VersionPolicy"] = "RequestVersionExact";
        c["ReverseProxy:Clusters:orchestrator:HealthCheck:Active:Enabled"] = "true";
        c["ReverseProxy:Clusters:orchestrator:HealthCheck:Active:Interval"] = "00:00:05";
        c["ReverseProxy:Clusters:orchestrator:HealthCheck:Active:Path"] = "/health";
        c["ReverseProxy:Clusters:orchestrator:HealthCheck:Active:Policy"] = "ConsecutiveFailures";
        c["ReverseProxy:Clusters:orchestrator:HealthCheck:Passive:Enabled"] = "true";
        c["ReverseProxy:Clusters:orchestrator:HealthCheck:Passive:Policy"] = "TransportFailureRate";
        c["ReverseProxy:Clusters:orchestrator:Destinations:d1:Address"] = orchestratorAddress;
        c["Edge:ApiKeys:0:Id"] = "bench";
        c["Edge:ApiKeys:0:Sha256"] = ApiKeyHasher.Hash(key);
        c["Edge:ApiKeys:0:PermitsPerSecond"] = "10000000";
        c["Edge:ApiKeys:0:Burst"] = "10000000";
    }

    private static async Task<List<double>> MeasureAsync(Func<Task> call, int concurrency, TimeSpan duration)
    {
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            var latencies = new List<double>(1 << 14);
            while (Stopwatch.GetTimestamp() < end)
            {
                var start = Stopwatch.GetTimestamp();
                await call();
                latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            return latencies;
        }).ToArray();
        return (await Task.WhenAll(workers)).SelectMany(l => l).ToList();
    }

    private static string AddressOf(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
}
