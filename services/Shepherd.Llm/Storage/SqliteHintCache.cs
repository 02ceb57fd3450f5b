using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Shepherd.Llm.Storage;

/// <summary>The hint cache in the orchestrator's SQLite file: the single-process default.</summary>
public sealed class SqliteHintCache : HintCache
{
    /// <summary>The table before entries had a source (keyed by model only): nobody knows who wrote them.</summary>
    private const string LegacyTable = "hint_cache";

    private readonly string _connectionString;

    public SqliteHintCache(string path, int maxEntries, TimeSpan ttl, TimeProvider time)
        : base(maxEntries, ttl, time)
    {
        _connectionString = SqliteFiles.ConnectionString(path);
        using var connection = SqliteFiles.Open(_connectionString);
        DiscardedLegacyEntries = DropLegacyTable(connection);
        using var command = connection.CreateCommand();
        command.CommandText = CreateTableSql("INTEGER");
        command.ExecuteNonQuery();
    }

    protected override string DeleteLeastRecentlyUsedSql =>
        $"DELETE FROM {Table} WHERE rowid IN (SELECT rowid FROM {Table} ORDER BY used_ms DESC LIMIT -1 OFFSET @keep)";

    protected override Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        Task.FromResult<DbConnection>(SqliteFiles.Open(_connectionString));

    private static long DropLegacyTable(SqliteConnection connection)
    {
        using var exists = connection.CreateCommand();
        exists.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = @name";
        exists.Parameters.AddWithValue("@name", LegacyTable);
        if ((long)exists.ExecuteScalar()! == 0)
        {
            return 0;
        }

        using var transaction = connection.BeginTransaction();
        using var count = connection.CreateCommand();
        count.Transaction = transaction;
        count.CommandText = $"SELECT COUNT(*) FROM {LegacyTable}";
        var entries = (long)count.ExecuteScalar()!;
        using var drop = connection.CreateCommand();
        drop.Transaction = transaction;
        drop.CommandText = $"DROP TABLE {LegacyTable}";
        drop.ExecuteNonQuery();
        transaction.Commit();
        return entries;
    }
}
