using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Shepherd.Llm.Storage;

/// <summary>
/// The ledger in a SQLite file: WAL journal, synchronous=FULL, so a committed call survives a crash. A batch is one
/// BEGIN IMMEDIATE transaction, so other processes sharing the file (replicas) wait on busy_timeout, not fail.
/// </summary>
internal sealed class SqliteLedger : SqlLedger
{
    private readonly string _connectionString;

    public SqliteLedger(string path, int queueCapacity = StorageOptions.DefaultLedgerQueueCapacity, int maxBatch = StorageOptions.DefaultLedgerMaxBatch)
        : base(queueCapacity, maxBatch)
    {
        _connectionString = SqliteFiles.ConnectionString(path);
        using var connection = SqliteFiles.Open(_connectionString);
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            CREATE TABLE IF NOT EXISTS ledger (
              id INTEGER PRIMARY KEY AUTOINCREMENT,
              ts TEXT NOT NULL, request_id TEXT NOT NULL, api_key_id TEXT NOT NULL, strategy TEXT NOT NULL,
              role TEXT NOT NULL, model TEXT NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
              usd REAL NOT NULL, cached INTEGER NOT NULL, stand_in INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS ledger_key_ts ON ledger (api_key_id, ts);
            CREATE INDEX IF NOT EXISTS ledger_request ON ledger (request_id);
            """;
        command.ExecuteNonQuery();
    }

    protected override Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        Task.FromResult<DbConnection>(SqliteFiles.Open(_connectionString));

    // ISO-8601 UTC with fixed width sorts as text in time order.
    protected override object Timestamp(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    protected override DateTimeOffset ReadTimestamp(object value) =>
        DateTimeOffset.Parse((string)value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}

internal static class SqliteFiles
{
    public static string ConnectionString(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return new SqliteConnectionStringBuilder { DataSource = full, Pooling = true, DefaultTimeout = 30 }.ToString();
    }

    public static SqliteConnection Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;";
        pragma.ExecuteNonQuery();
        return connection;
    }
}
