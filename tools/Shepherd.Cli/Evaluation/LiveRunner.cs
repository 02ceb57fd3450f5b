using Grpc.Core;
using Grpc.Net.Client;
using Shepherd.Cli.Hosting;
using Shepherd.Contracts.V1;
using Shepherd.Core.Configuration;
using Shepherd.Core.Datasets;
using Shepherd.Core.Evaluation;
using Shepherd.Core.Strategies;
using Shepherd.Llm;
using Shepherd.Core.Tasks;
using Shepherd.Reports;
using Spectre.Console;

namespace Shepherd.Cli.Evaluation;

/// <summary>
/// `shepherd eval --mode live`: every strategy answers every query through the edge; answers are graded with the
/// task's grader and costed from the response's own cost breakdown at list price (cache savings added back). With
/// --trials N each query is asked N times:
/// it passes by majority, and its cost is the mean.
/// </summary>
public static class LiveRunner
{
    public static readonly IReadOnlyList<string> AllStrategies = StrategyNames.Wire;

    public sealed record Settings(string Dataset, string Split, int? Limit, IReadOnlyList<string> Strategies, Uri? Address, string? ApiKey, int Trials, int Concurrency);

    public static async Task<(IReadOnlyList<LiveResult> Results, bool StandIn)> RunAsync(Settings s, CancellationToken ct)
    {
        var items = DatasetFiles.Load(s.Dataset, s.Split, ShepherdPaths.DataDirectory);
        if (s.Limit is { } n)
        {
            items = items.Take(n).ToArray();
        }

        var task = TaskRegistry.Shared.Get(s.Dataset);
        LocalStack? stack = null;
        try
        {
            var address = s.Address;
            if (address is null)
            {
                AnsiConsole.MarkupLine("[grey]no --address: starting the local stack for this evaluation …[/]");
                stack = await LocalStack.StartAsync(StackPorts.Ephemeral, null, null, null, ct);
                address = stack.EdgeAddress;
            }

            var key = s.ApiKey ?? Environment.GetEnvironmentVariable("SHEPHERD_API_KEY") ?? LocalStack.DevApiKey(LocalStack.DefaultHome);
            using var channel = GrpcChannel.ForAddress(address);
            var client = new ShepherdService.ShepherdServiceClient(channel);
            var headers = new Metadata { { "authorization", "Bearer " + key } };
            var results = new List<LiveResult>();
            var standIn = false;
            var work = s.Strategies.SelectMany(strategy => items.Select(item => (strategy, item))).ToArray();
            await AnsiConsole.Progress().StartAsync(async progress =>
            {
                var bar = progress.AddTask($"live {s.Dataset}/{s.Split}", maxValue: work.Length);
                await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, s.Concurrency), CancellationToken = ct }, async (unit, token) =>
                {
                    var (strategy, item) = unit;
                    var passes = 0;
                    double cost = 0;
                    var answeredBy = new List<string>();
                    for (var t = 0; t < s.Trials; t++)
                    {
                        var response = await client.AnswerAsync(Request(s.Dataset, strategy, item), headers, DateTime.UtcNow.AddMinutes(10), token);
                        passes += (await task.GradeAsync(item, response.Answer, token)).Passed ? 1 : 0;
                        // Strategies are compared at list price: what the hint cache saved is added back, so a strategy
                        // run after another is not flattered by the other's cached answers.
                        cost += response.Cost.TotalUsd + response.Cost.CacheSavingsUsd;
                        answeredBy.Add(AnsweredBy(response));
                        standIn |= response.LlmStandIn;
                    }

                    var result = new LiveResult(strategy, item.Id, passes * 2 > s.Trials, cost / s.Trials,
                        answeredBy.GroupBy(a => a).OrderByDescending(g => g.Count()).First().Key);
                    lock (results)
                    {
                        results.Add(result);
                    }

                    bar.Increment(1);
                });
            });
            return (results, standIn);
        }
        finally
        {
            if (stack is not null)
            {
                await stack.DisposeAsync();
            }
        }
    }

    public static AnswerRequest Request(string dataset, string strategy, TaskItem item) => new()
    {
        Query = item.Query,
        Task = ProtoNames.ToProto(dataset),
        Strategy = ProtoNames.ToProto(StrategyNames.Parse(strategy)),
        TaskContext = string.Join('\n', item.Tests),
        RequestId = $"eval/{strategy}/{item.Id}/{Guid.NewGuid():N}",
    };

    public static string AnsweredBy(AnswerResponse response) =>
        response.Path.Count > 0 && response.Path[^1] == "llm.answer" ? "llm"
        : response.Hint is { Tokens: > 0 } ? "hinted"
        : "slm";
}
