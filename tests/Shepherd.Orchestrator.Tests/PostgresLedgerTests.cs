using DotNet.Testcontainers.Builders;
using Shepherd.Contracts.V1;
using Shepherd.Llm.Storage;
using Testcontainers.PostgreSql;

namespace Shepherd.Orchestrator.Tests;

/// <summary>
/// The ledger on a real PostgreSQL: the server .ci/run installs from apt and names in SHEPHERD_TEST_POSTGRES, or a
/// Testcontainers one where a Docker engine runs. Each skips with its reason where its server is missing.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class PostgresLedgerTests(StackFixture stack)
{
    public const string Variable = "SHEPHERD_TEST_POSTGRES";

    private static string? ConnectionString => Environment.GetEnvironmentVariable(Variable);

    [SkippableFact]
    public async Task PostgresLedgerRecordsAndTotalsLikeSqlite()
    {
        Skip.If(ConnectionString is null, $"{Variable} is not set (.ci/run starts PostgreSQL from apt and sets it)");
        await AssertLedgerWorks(ConnectionString!);
    }

    [SkippableFact]
    public async Task OrchestratorWritesItsLedgerToPostgresWhenConfigured()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        Skip.If(ConnectionString is null, $"{Variable} is not set (.ci/run starts PostgreSQL from apt and sets it)");
        var key = "pg-" + Guid.NewGuid().ToString("N")[..8];
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Storage:PostgresConnectionString"] = ConnectionString,
            ["Storage:HintCacheEnabled"] = "false",
        });

        var metadata = StackFixture.SignedAs(key);
        var answer = await client.AnswerAsync(new AnswerRequest { Query = "What is 5 + 6?", Task = TaskKind.Gsm8K, Strategy = Strategy.Llm }, metadata);
        var usage = await client.UsageAsync(new UsageRequest(), metadata);

        Assert.Equal(answer.Cost.TotalUsd, usage.TotalUsd, tolerance: 1e-12);
        Assert.All(usage.Totals, t => Assert.Equal(key, t.ApiKeyId));
    }

    [SkippableFact]
    public async Task PostgresLedgerInATestcontainer()
    {
        // Where no registry is reachable (our build machines), deploy/build-images.sh builds shepherd/postgres from
        // Debian's packages; .ci/run names it in SHEPHERD_TEST_POSTGRES_IMAGE and starts podman's Docker API socket.
        var image = Environment.GetEnvironmentVariable("SHEPHERD_TEST_POSTGRES_IMAGE") is { Length: > 0 } local ? local : "postgres:16-alpine";
        PostgreSqlContainer container;
        try
        {
            container = new PostgreSqlBuilder(image).Build();
            await container.StartAsync();
        }
        catch (Exception ex) when (ex is DockerUnavailableException || ex.InnerException is DockerUnavailableException || ex.GetType().Name.Contains("Docker", StringComparison.Ordinal))
        {
            throw new SkipException($"no Docker engine: {ex.GetType().Name}");
        }

        await using (container)
        {
            await AssertLedgerWorks(container.GetConnectionString());
        }
    }

    private static async Task AssertLedgerWorks(string connectionString)
    {
        using var ledger = new PostgresLedger(connectionString);
        var key = "k-" + Guid.NewGuid().ToString("N")[..8];
        var request = Guid.NewGuid().ToString("N");
        var now = DateTimeOffset.UtcNow;
        await ledger.RecordAsync(new LedgerEntry(now, request, key, "llm", "llm", "m", 100, 20, 0.25, false, false), CancellationToken.None);
        await ledger.RecordAsync(new LedgerEntry(now, request, key, "llm", "llm", "m", 0, 0, 0, true, false), CancellationToken.None);
        await ledger.RecordAsync(new LedgerEntry(now.AddHours(-2), request, key, "llm", "llm", "m", 50, 5, 0.5, false, false), CancellationToken.None);

        var all = Assert.Single(await ledger.TotalsAsync(key, null, null, CancellationToken.None));
        var recent = Assert.Single(await ledger.TotalsAsync(key, now.AddMinutes(-5), null, CancellationToken.None));

        Assert.Equal(2, all.Calls);
        Assert.Equal(0.75, all.Usd, tolerance: 1e-12);
        Assert.Equal(150, all.PromptTokens);
        Assert.Equal(1, recent.Calls);
        Assert.Equal(3, (await ledger.EntriesAsync(request, CancellationToken.None)).Count);
    }
}
