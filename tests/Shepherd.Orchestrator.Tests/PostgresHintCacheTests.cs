using Npgsql;
using Shepherd.Llm;
using Shepherd.Llm.Storage;

namespace Shepherd.Orchestrator.Tests;

/// <summary>
/// The hint cache on the real PostgreSQL that SHEPHERD_TEST_POSTGRES names, as orchestrator replicas share it: each
/// test works in a schema of its own, and every <see cref="PostgresHintCache"/> instance stands for one replica.
/// </summary>
public sealed class PostgresHintCacheTests : IAsyncLifetime
{
    private static readonly string Source = LlmSources.Endpoint("https://api.groq.com/openai/v1");
    private readonly string _schema = "hint_test_" + Guid.NewGuid().ToString("N")[..12];
    private readonly string? _server = Environment.GetEnvironmentVariable(PostgresLedgerTests.Variable);

    private string ConnectionString => new NpgsqlConnectionStringBuilder(_server) { SearchPath = _schema }.ToString();

    public async Task InitializeAsync()
    {
        if (_server is not null)
        {
            await using var dataSource = NpgsqlDataSource.Create(_server);
            await dataSource.CreateCommand($"CREATE SCHEMA {_schema}").ExecuteNonQueryAsync();
        }
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var dataSource = NpgsqlDataSource.Create(_server);
            await dataSource.CreateCommand($"DROP SCHEMA {_schema} CASCADE").ExecuteNonQueryAsync();
        }
    }

    [SkippableFact]
    public async Task AHintCachedThroughOneReplicaIsAHitThroughTheOther()
    {
        SkipWithoutServer();
        await using var first = Replica(TimeProvider.System);
        await using var second = Replica(TimeProvider.System);

        Assert.Null(await second.LookupAsync(Source, "m", "q", 4, allowCut: false, CancellationToken.None));
        Assert.True(await first.StoreAsync(Source, "m", "q", new CachedAnswer("a b c d", 10, 4, Complete: false), CancellationToken.None));

        var hit = await second.LookupAsync(Source, "m", "q", 4, allowCut: false, CancellationToken.None);
        Assert.Equal((HintCache.Match.Exact, "a b c d"), (hit!.Value.How, hit.Value.Answer.Text));
        Assert.Equal(HintCache.Match.NeedsCut, (await second.LookupAsync(Source, "m", "q", 2, allowCut: true, CancellationToken.None))!.Value.How);
        Assert.Null(await second.LookupAsync(LlmSources.StandIn("http://127.0.0.1:5101"), "m", "q", 4, allowCut: true, CancellationToken.None));
    }

    [SkippableFact]
    public async Task ConcurrentWritersOfOneKeyWriteItOnce()
    {
        SkipWithoutServer();
        // Eight replicas missed the same hint at once and each bought it; eight more keys are each written by all.
        const int Writers = 8;
        var replicas = Enumerable.Range(0, Writers).Select(_ => Replica(TimeProvider.System)).ToArray();
        using var start = new Barrier(Writers);
        var wrote = await Task.WhenAll(replicas.Select((cache, i) => Task.Run(async () =>
        {
            var mine = 0;
            for (var key = 0; key < 8; key++)
            {
                start.SignalAndWait();
                if (await cache.StoreAsync(Source, "m", $"q{key}", new CachedAnswer($"written by {i}", 10, 3, Complete: true), CancellationToken.None))
                {
                    mine++;
                }
            }

            return mine;
        })));

        Assert.Equal(8, wrote.Sum());
        Assert.Equal(8, await replicas[0].CountAsync(CancellationToken.None));
        var first = await replicas[^1].LookupAsync(Source, "m", "q0", 3, allowCut: false, CancellationToken.None);
        Assert.StartsWith("written by ", first!.Value.Answer.Text);
        // A later writer of a fresh entry changes nothing: the text served stays the first writer's.
        Assert.False(await replicas[^1].StoreAsync(Source, "m", "q0", new CachedAnswer("a second write", 10, 3, Complete: true), CancellationToken.None));
        Assert.Equal(first.Value.Answer.Text, (await replicas[0].LookupAsync(Source, "m", "q0", 3, allowCut: false, CancellationToken.None))!.Value.Answer.Text);
        foreach (var replica in replicas)
        {
            await replica.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task AnExpiredEntryIsReplacedAndTheBoundHolds()
    {
        SkipWithoutServer();
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero));
        await using var cache = new PostgresHintCache(ConnectionString, 3, TimeSpan.FromHours(1), clock);
        Assert.True(await cache.StoreAsync(Source, "m", "q", new CachedAnswer("old", 1, 1, Complete: true), CancellationToken.None));
        clock.Advance(TimeSpan.FromHours(2));
        Assert.Null(await cache.LookupAsync(Source, "m", "q", 1, allowCut: false, CancellationToken.None));
        Assert.True(await cache.StoreAsync(Source, "m", "q", new CachedAnswer("new", 1, 1, Complete: true), CancellationToken.None));
        Assert.Equal("new", (await cache.LookupAsync(Source, "m", "q", 1, allowCut: false, CancellationToken.None))!.Value.Answer.Text);

        for (var i = 0; i < 5; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await cache.StoreAsync(Source, "m", $"k{i}", new CachedAnswer("x", 1, 1, Complete: true), CancellationToken.None);
        }

        await cache.PruneAsync(CancellationToken.None);
        Assert.Equal(3, await cache.CountAsync(CancellationToken.None));
        Assert.Null(await cache.LookupAsync(Source, "m", "q", 1, allowCut: false, CancellationToken.None));
        Assert.NotNull(await cache.LookupAsync(Source, "m", "k4", 1, allowCut: false, CancellationToken.None));
    }

    private PostgresHintCache Replica(TimeProvider time) => new(ConnectionString, 100, TimeSpan.FromHours(1), time);

    private void SkipWithoutServer() =>
        Skip.If(_server is null, $"{PostgresLedgerTests.Variable} is not set (.ci/run starts PostgreSQL from apt and sets it)");
}
