using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Shepherd.Contracts.V1;
using Shepherd.Edge;
using Shepherd.Edge.Auth;
using Shepherd.Hosting;
using Shepherd.ServiceDefaults;

namespace Shepherd.Benchmarks;

/// <summary>
/// What the edge adds to a unary Answer: the same call to a trivial upstream, directly and through the edge
/// (key check, token bucket, YARP over h2c), at concurrency 1 and 16, each for a fixed time. Client, edge and
/// upstream share this machine's cores, so the concurrency-16 figures are CPU-bound; read the concurrency-1
/// p50 difference as the edge's added latency. Args: [seconds per mode, default 3].
/// </summary>
public static class EdgeBench
{
    private const string Key = "sk-bench-edge-0000000000";

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        var duration = TimeSpan.FromSeconds(seconds);

        await using var upstream = BuildUpstream();
        await upstream.StartAsync();
        var upstreamAddress = AddressOf(upstream);

        // The edge gets its whole configuration here (mirroring appsettings.json's orchestrator route and
        // cluster): this project's output also holds other hosts' appsettings.json, so none is read.
        var emptyRoot = Directory.CreateTempSubdirectory("shepherd-edge-bench").FullName;
        await using var edge = EdgeApp.Build(["--urls", "http://127.0.0.1:0", "--contentRoot", emptyRoot], b => AnswerBench.ConfigureEdge(b, upstreamAddress, Key));
        await edge.StartAsync();
        var edgeAddress = AddressOf(edge);

        output.WriteLine($"unary Answer, trivial upstream, {seconds:F0} s per mode after 1 s warm-up, {Environment.ProcessorCount} cores shared by client, edge and upstream");
        output.WriteLine("mode     conc   calls     req/s    p50 ms   p99 ms");
        var p50 = new Dictionary<(string, int), double>();
        foreach (var concurrency in new[] { 1, 16 })
        {
            foreach (var (mode, address) in new[] { ("direct", upstreamAddress), ("edge", edgeAddress) })
            {
                using var channel = GrpcChannel.ForAddress(address);
                var client = new ShepherdService.ShepherdServiceClient(channel);
                await MeasureAsync(client, concurrency, TimeSpan.FromSeconds(1));
                var (calls, latencies) = await MeasureAsync(client, concurrency, duration);
                p50[(mode, concurrency)] = Stats.Percentile(latencies, 0.5);
                output.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{mode,-8} {concurrency,4} {calls,7} {calls / duration.TotalSeconds,9:F0} {p50[(mode, concurrency)],9:F3} {Stats.Percentile(latencies, 0.99),8:F3}"));
            }
        }

        foreach (var concurrency in new[] { 1, 16 })
        {
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"added by the edge at concurrency {concurrency,2}: p50 {p50[("edge", concurrency)] - p50[("direct", concurrency)]:F3} ms{(concurrency == 1 ? " (goal: < 1 ms)" : "")}"));
        }

        await edge.StopAsync();
        await upstream.StopAsync();
        Directory.Delete(emptyRoot, recursive: true);
        return 0;
    }

    private static async Task<(int Calls, List<double> LatenciesMs)> MeasureAsync(ShepherdService.ShepherdServiceClient client, int concurrency, TimeSpan duration)
    {
        var headers = new Metadata { { "authorization", $"Bearer {Key}" } };
        var request = new AnswerRequest { Query = "What is 6 * 7?", RequestId = "bench" };
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            var latencies = new List<double>(1 << 14);
            while (Stopwatch.GetTimestamp() < end)
            {
                var start = Stopwatch.GetTimestamp();
                await client.AnswerAsync(request, headers);
                latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            return latencies;
        }).ToArray();
        var all = (await Task.WhenAll(workers)).SelectMany(l => l).ToList();
        return (all.Count, all);
    }

    private static WebApplication BuildUpstream()
    {
        var builder = WebApplication.CreateBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.AddShepherdServiceDefaults();
        builder.Configuration["Logging:LogLevel:Default"] = "Warning";
        var app = builder.Build();
        app.MapGrpcService<TrivialShepherdService>();
        app.MapDefaultEndpoints();
        return app;
    }

    private static string AddressOf(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    private sealed class TrivialShepherdService : ShepherdService.ShepherdServiceBase
    {
        public override Task<AnswerResponse> Answer(AnswerRequest request, ServerCallContext context) =>
            Task.FromResult(new AnswerResponse { RequestId = request.RequestId, Answer = "42", FinalAnswer = "42" });
    }
}
