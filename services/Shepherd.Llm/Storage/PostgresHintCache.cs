using System.Data.Common;
using Npgsql;

namespace Shepherd.Llm.Storage;

/// <summary>
/// The hint cache in PostgreSQL, used with the ledger's Storage:PostgresConnectionString, so every orchestrator
/// replica serves what any of them cached. Concurrent writers of one key meet at the primary key: one row, written
/// by whichever INSERT commits first (<see cref="HintCache.StoreAsync"/>).
/// </summary>
public sealed class PostgresHintCache : HintCache, IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresHintCache(string connectionString, int maxEntries, TimeSpan ttl, TimeProvider time)
        : base(maxEntries, ttl, time)
    {
        _dataSource = PostgresDataSources.Create(connectionString);
        PostgresSchema.Ensure(_dataSource, CreateTableSql("BIGINT"));
    }

    protected override string DeleteLeastRecentlyUsedSql =>
        $"DELETE FROM {Table} WHERE ctid IN (SELECT ctid FROM {Table} ORDER BY used_ms DESC OFFSET @keep)";

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    public void Dispose() => _dataSource.Dispose();
}

/// <summary>Schema creation that replicas starting together cannot race on.</summary>
internal static class PostgresSchema
{
    // CREATE TABLE IF NOT EXISTS is not atomic in PostgreSQL: two sessions creating one table at once can fail on
    // pg_type's unique index. One transaction-scoped advisory lock serialises every Shepherd schema change.
    private const long LockKey = 0x5368657068657264; // "Shepherd"

    public static void Ensure(NpgsqlDataSource dataSource, string sql)
    {
        using var connection = dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using (var command = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({LockKey}); {sql}", connection, transaction))
        {
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }
}
