using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using Shepherd.Core.Errors;
using Shepherd.Llm.Storage;

namespace Shepherd.Orchestrator.Tests;

/// <summary>
/// The ledger's group commit on a real SQLite file (and a real PostgreSQL where SHEPHERD_TEST_POSTGRES names one):
/// concurrent writers each committed exactly once, a failed commit failing only its own batch, backpressure, and a
/// dispose that commits what is queued. Batches are made deterministic by holding SQLite's write lock from a second
/// connection: the writer then blocks inside a commit while the next rows queue behind it. The first row of each such
/// test is written from another thread, since a writer that finds no commit running commits inline.
/// </summary>
public sealed class LedgerGroupCommitTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("shepherd-ledger-tests").FullName;

    private string DatabasePath => Path.Combine(_directory, "ledger.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task ConcurrentWritersAreEachCommittedExactlyOnceToASqliteFile()
    {
        var key = "k-" + Guid.NewGuid().ToString("N")[..8];
        await using (var ledger = new SqliteLedger(DatabasePath))
        {
            await WriteConcurrentlyAsync(ledger, key, writers: 64, rowsEach: 50);
        }

        await using var connection = new SqliteConnection($"Data Source={DatabasePath}");
        await connection.OpenAsync();
        var (rows, distinct) = await CountAsync(connection, key);
        Assert.Equal(64 * 50, rows);
        Assert.Equal(64 * 50, distinct);
        await using var reopened = new SqliteLedger(DatabasePath);
        Assert.Equal(64 * 50, Assert.Single(await reopened.TotalsAsync(key, null, null, CancellationToken.None)).Calls);
    }

    [SkippableFact]
    public async Task ConcurrentWritersAreEachCommittedExactlyOnceToPostgres()
    {
        var connectionString = Environment.GetEnvironmentVariable(PostgresLedgerTests.Variable);
        Skip.If(connectionString is null, $"{PostgresLedgerTests.Variable} is not set (.ci/run starts PostgreSQL from apt and sets it)");
        var key = "k-" + Guid.NewGuid().ToString("N")[..8];
        await using (var ledger = new PostgresLedger(connectionString!))
        {
            await WriteConcurrentlyAsync(ledger, key, writers: 64, rowsEach: 50);
            Assert.Equal(64 * 50, Assert.Single(await ledger.TotalsAsync(key, null, null, CancellationToken.None)).Calls);
        }

        await using var dataSource = NpgsqlDataSource.Create(connectionString!);
        await using var connection = await dataSource.OpenConnectionAsync();
        var (rows, distinct) = await CountAsync(connection, key);
        Assert.Equal(64 * 50, rows);
        Assert.Equal(64 * 50, distinct);
    }

    [Fact]
    public async Task AFailedCommitFailsOnlyTheCallersOfItsBatch()
    {
        await using var ledger = new SqliteLedger(DatabasePath);
        await using var holder = await OpenHolderAsync();
        await ExecuteAsync(holder, "CREATE TRIGGER poison BEFORE INSERT ON ledger WHEN NEW.request_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END;");

        // The first row's batch blocks on the held lock; the next three queue behind it and form one batch.
        await ExecuteAsync(holder, "BEGIN IMMEDIATE;");
        var first = Task.Run(() => ledger.RecordAsync(Entry("first"), CancellationToken.None));
        await WaitUntilAsync(() => ledger.Committing && ledger.Queued == 0);
        var poison = ledger.RecordAsync(Entry("poison"), CancellationToken.None);
        var second = ledger.RecordAsync(Entry("second"), CancellationToken.None);
        var third = ledger.RecordAsync(Entry("third"), CancellationToken.None);
        Assert.Equal(3, ledger.Queued);
        await ExecuteAsync(holder, "COMMIT;");

        await first;
        var errors = new[]
        {
            await Assert.ThrowsAsync<DependencyUnavailableException>(() => poison),
            await Assert.ThrowsAsync<DependencyUnavailableException>(() => second),
            await Assert.ThrowsAsync<DependencyUnavailableException>(() => third),
        };
        await ledger.RecordAsync(Entry("after"), CancellationToken.None);

        Assert.All(errors, e => Assert.Equal("ledger", e.Dependency));
        Assert.All(errors, e => Assert.Contains("batch of 3 row(s)", e.Message, StringComparison.Ordinal));
        Assert.All(errors, e => Assert.DoesNotContain("poisoned", e.Message, StringComparison.Ordinal));
        Assert.Equal(["first", "after"], await RequestIdsAsync(holder));
    }

    [Fact]
    public async Task DisposeCommitsEveryQueuedRowAndRefusesNewOnes()
    {
        var ledger = new SqliteLedger(DatabasePath);
        await using var holder = await OpenHolderAsync();
        await ExecuteAsync(holder, "BEGIN IMMEDIATE;");
        var writes = new List<Task> { Task.Run(() => ledger.RecordAsync(Entry("r0"), CancellationToken.None)) };
        await WaitUntilAsync(() => ledger.Committing && ledger.Queued == 0);
        writes.AddRange(Enumerable.Range(1, 10).Select(i => ledger.RecordAsync(Entry($"r{i}"), CancellationToken.None)));

        var disposing = ledger.DisposeAsync().AsTask();
        var late = ledger.RecordAsync(Entry("late"), CancellationToken.None);
        Assert.False(disposing.IsCompleted);
        Assert.All(writes, w => Assert.False(w.IsCompleted));
        await ExecuteAsync(holder, "COMMIT;");
        await disposing;

        await Task.WhenAll(writes);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => late);
        Assert.Equal(Enumerable.Range(0, 11).Select(i => $"r{i}").Order(), (await RequestIdsAsync(holder)).Order());
    }

    [Fact]
    public async Task AFullQueueMakesWritersWaitAndOneThatGivesUpWritesNothing()
    {
        await using var ledger = new SqliteLedger(DatabasePath, queueCapacity: 2, maxBatch: 1);
        await using var holder = await OpenHolderAsync();
        await ExecuteAsync(holder, "BEGIN IMMEDIATE;");
        var first = Task.Run(() => ledger.RecordAsync(Entry("a"), CancellationToken.None));
        await WaitUntilAsync(() => ledger.Committing && ledger.Queued == 0);
        var queued = new[] { ledger.RecordAsync(Entry("b"), CancellationToken.None), ledger.RecordAsync(Entry("c"), CancellationToken.None) };
        using var giveUp = new CancellationTokenSource();
        var waiting = ledger.RecordAsync(Entry("d"), giveUp.Token);

        Assert.Equal(2, ledger.Queued);
        Assert.False(waiting.IsCompleted);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await ExecuteAsync(holder, "COMMIT;");
        await first;
        await Task.WhenAll(queued);

        Assert.Equal(["a", "b", "c"], await RequestIdsAsync(holder));
    }

    private static async Task WriteConcurrentlyAsync(ILedger ledger, string key, int writers, int rowsEach)
    {
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < rowsEach; i++)
            {
                await ledger.RecordAsync(Entry($"{key}-{w}-{i}", key), CancellationToken.None);
            }
        })));
    }

    private static LedgerEntry Entry(string requestId, string key = "k") =>
        new(DateTimeOffset.UtcNow, requestId, key, "llm", "llm", "m", 10, 2, 0.001, false, true);

    private static async Task<(long Rows, long Distinct)> CountAsync(DbConnection connection, string key)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), COUNT(DISTINCT request_id) FROM ledger WHERE api_key_id = @key";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@key";
        parameter.Value = key;
        command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>A second connection to the ledger file, to hold its write lock.</summary>
    private async Task<SqliteConnection> OpenHolderAsync()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        await connection.OpenAsync();
        return connection;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string[]> RequestIdsAsync(SqliteConnection connection)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT request_id FROM ledger ORDER BY id";
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return [.. ids];
    }

    /// <summary>Waits for the writer loop to reach a state; the bound only stops a broken build from hanging.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; !condition(); i++)
        {
            Assert.True(i < 6000, "the ledger's writer never reached the expected state");
            await Task.Delay(5);
        }
    }
}
