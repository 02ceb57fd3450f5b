using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Shepherd.Cli.Hosting;
using Shepherd.Contracts.V1;
using Shepherd.Core.Tasks;
using Xunit.Abstractions;
using static Shepherd.EndToEnd.Tests.EndToEndStack;

namespace Shepherd.EndToEnd.Tests;

/// <summary>
/// Per-key budgets under a race: two more orchestrator processes on one PostgreSQL, the stack's slm-service and a Groq
/// stand-in, 50 concurrent paid requests (25 to each process) against a budget set by the admin RPC to cover 10 of
/// them at their worst case. Called directly, with the key id header the edge would forward, so the spread is exact.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class BudgetRaceTests(EndToEndStack stack, ITestOutputHelper output)
{
    private const string PostgresVariable = "SHEPHERD_TEST_POSTGRES";
    private const int MaxAnswerTokens = 32;

    [SkippableFact]
    public async Task FiftyConcurrentPaidRequestsOnTwoReplicasNeverSettleMoreThanTheBudget()
    {
        var (a, b, key) = await StartReplicasAsync();
        await using var _ = a;
        await using var __ = b;
        var queries = Enumerable.Range(0, 50).Select(i => $"What is {i % 10} + 7? (race {i:00} {Guid.NewGuid():N})").ToArray();
        var worst = WorstCaseUsd(queries[0]);
        Assert.All(queries, q => Assert.Equal(worst, WorstCaseUsd(q), 1e-15));
        var budget = 10 * worst;
        using var channelA = GrpcChannel.ForAddress(a.Address);
        using var channelB = GrpcChannel.ForAddress(b.Address);
        var clients = new[] { new ShepherdService.ShepherdServiceClient(channelA), new ShepherdService.ShepherdServiceClient(channelB) };
        await clients[0].SetBudgetAsync(
            new SetBudgetRequest { ApiKeyId = key, DailyUsd = budget, OnExceeded = BudgetPolicy.Refuse }, Admin());
        var groqBefore = stack.Replicas[0].Groq.RequestCount;

        var calls = queries.Select(async (query, i) =>
        {
            try
            {
                var answer = await clients[i % 2].AnswerAsync(
                    new AnswerRequest { Query = query, Strategy = Strategy.Llm }, As(key), deadline: DateTime.UtcNow.AddSeconds(120));
                return (Replica: i % 2, Answer: answer, Error: (RpcException?)null);
            }
            catch (RpcException e)
            {
                return (Replica: i % 2, Answer: (AnswerResponse?)null, Error: e);
            }
        }).ToArray();
        var results = await Task.WhenAll(calls);

        var paid = results.Where(r => r.Answer is not null).ToArray();
        var refused = results.Where(r => r.Error is not null).ToArray();
        var usage = await clients[1].UsageAsync(new UsageRequest { ApiKeyId = key }, Admin());
        var day = usage.Budget.Windows.Single(w => w.Window == "day");
        var ledgerUsd = usage.Totals.Where(t => t.Strategy == "llm").Sum(t => t.Usd);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"budget ${budget:F8} (10 x worst case ${worst:F8}); paid {paid.Length} (replica a {paid.Count(p => p.Replica == 0)}, b {paid.Count(p => p.Replica == 1)}), refused {refused.Length}; settled ${day.SpentUsd:F8}, ledger ${ledgerUsd:F8}, reserved ${day.ReservedUsd:F8}, Groq calls {stack.Replicas[0].Groq.RequestCount - groqBefore}"));

        Assert.True(a.ExitCode is null && b.ExitCode is null, $"a replica died: {a.RecentLog()} {b.RecentLog()}");
        Assert.Equal(50, paid.Length + refused.Length);
        Assert.True(paid.Length >= 10, $"only {paid.Length} paid answers: the budget covers 10 worst cases");
        Assert.All(paid, p => Assert.Equal(["llm.answer"], p.Answer!.Path));
        Assert.All(paid, p => Assert.False(p.Answer!.Degraded));
        Assert.All(refused, r =>
        {
            Assert.Equal(StatusCode.ResourceExhausted, r.Error!.StatusCode);
            Assert.Contains("budget", r.Error.Status.Detail);
            Assert.True(int.Parse(r.Error.Trailers.GetValue("retry-after")!, CultureInfo.InvariantCulture) >= 1);
        });
        Assert.True(day.SpentUsd <= budget + 1e-12, $"settled ${day.SpentUsd} over the budget ${budget}");
        Assert.Equal(paid.Sum(p => p.Answer!.Cost.TotalUsd), day.SpentUsd, tolerance: 1e-12);
        Assert.Equal(ledgerUsd, day.SpentUsd, tolerance: 1e-12);
        Assert.Equal(0, day.ReservedUsd, tolerance: 1e-12);
        Assert.Equal(paid.Length, stack.Replicas[0].Groq.RequestCount - groqBefore);
    }

    [SkippableFact]
    public async Task AKeyWhosePolicyIsDegradeGetsTheSlmsAnswerFlaggedBudget()
    {
        var (a, b, key) = await StartReplicasAsync();
        await using var _ = a;
        await using var __ = b;
        var queries = Enumerable.Range(0, 6).Select(i => $"What is {i} + 7? (degrade {Guid.NewGuid():N})").ToArray();
        var budget = 2 * WorstCaseUsd(queries[0]);
        using var channelA = GrpcChannel.ForAddress(a.Address);
        using var channelB = GrpcChannel.ForAddress(b.Address);
        var clients = new[] { new ShepherdService.ShepherdServiceClient(channelA), new ShepherdService.ShepherdServiceClient(channelB) };
        await clients[0].SetBudgetAsync(new SetBudgetRequest { ApiKeyId = key, DailyUsd = budget, OnExceeded = BudgetPolicy.Degrade }, Admin());

        var answers = await Task.WhenAll(queries.Select((q, i) => clients[i % 2].AnswerAsync(
            new AnswerRequest { Query = q, Strategy = Strategy.Llm }, As(key), deadline: DateTime.UtcNow.AddSeconds(120)).ResponseAsync));

        var degraded = answers.Where(r => r.Degraded).ToArray();
        Assert.True(answers.Count(r => !r.Degraded) >= 2, "the budget covers two paid answers");
        Assert.NotEmpty(degraded);
        Assert.All(degraded, r =>
        {
            Assert.Contains("budget", Assert.Single(r.Degradations));
            Assert.Equal(0, r.Cost.LlmInputUsd + r.Cost.LlmOutputUsd);
            // The LLM step is on the path (it was tried and refused before any call); the SLM's answer follows it.
            Assert.Equal("slm.answer", r.Path.Last());
        });
        var usage = await clients[0].UsageAsync(new UsageRequest { ApiKeyId = key }, Admin());
        Assert.True(usage.Budget.Windows.Single(w => w.Window == "day").SpentUsd <= budget + 1e-12);
    }

    /// <summary>What PaidLlm reserves for one generic query's full LLM answer: every prompt character a token, all MaxAnswerTokens.</summary>
    private static double WorstCaseUsd(string query)
    {
        var messages = TaskRegistry.Shared.Get(GenericTask.KindName).BuildMessages(new TaskItem("request/x", GenericTask.KindName, query, "") { Tests = [] });
        return (messages.Sum(m => m.Content.Length) * InputUsdPerToken) + (MaxAnswerTokens * OutputUsdPerToken);
    }

    private static Metadata As(string key) => SignedIdentity(key);

    private static Metadata Admin() => SignedIdentity("ops", admin: true);

    private async Task<(ServiceProcess A, ServiceProcess B, string Key)> StartReplicasAsync()
    {
        Skip.IfNot(HasModel, MissingModelReason);
        var postgres = Environment.GetEnvironmentVariable(PostgresVariable);
        Skip.If(string.IsNullOrWhiteSpace(postgres), $"{PostgresVariable} is not set (.ci/run starts PostgreSQL from apt and sets it)");
        var keyFile = Path.Combine(stack.Home, "groq.key");
        var environment = (string name) => new Dictionary<string, string>
        {
            ["Orchestrator__SlmAddress"] = stack.Slm.Address.ToString().TrimEnd('/'),
            ["Identity__SigningKey"] = IdentityKey,
            ["Orchestrator__SlmMaxTokens"] = "24",
            ["Orchestrator__DownstreamTimeoutSeconds"] = "30",
            ["Llm__BaseUrl"] = stack.Replicas[0].Groq.BaseUrl,
            ["Llm__ApiKeyFile"] = keyFile,
            ["Llm__ApiKeyVariable"] = "SHEPHERD_E2E_UNSET_GROQ_KEY",
            ["Llm__MaxAnswerTokens"] = MaxAnswerTokens.ToString(CultureInfo.InvariantCulture),
            ["Storage__PostgresConnectionString"] = postgres!,
            ["Storage__SqlitePath"] = Path.Combine(stack.Home, $"budget-{name}-{Guid.NewGuid():N}.db"),
        };
        var timeout = TimeSpan.FromSeconds(90);
        var started = await Task.WhenAll(
            ServiceProcess.StartAsync("Shepherd.Orchestrator", environment("a"), timeout, CancellationToken.None),
            ServiceProcess.StartAsync("Shepherd.Orchestrator", environment("b"), timeout, CancellationToken.None));
        return (started[0], started[1], $"budget-{Guid.NewGuid():N}"[..20]);
    }
}
