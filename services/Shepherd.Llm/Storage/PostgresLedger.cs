using System.Data.Common;
using Npgsql;

namespace Shepherd.Llm.Storage;

/// <summary>
/// The ledger in PostgreSQL, used when Storage:PostgresConnectionString is set. A batch is one transaction and one
/// multi-row INSERT: one round trip and one WAL flush at COMMIT (synchronous_commit as the server sets it).
/// </summary>
internal sealed class PostgresLedger : SqlLedger
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresLedger(string connectionString, int queueCapacity = StorageOptions.DefaultLedgerQueueCapacity, int maxBatch = StorageOptions.DefaultLedgerMaxBatch)
        : base(queueCapacity, maxBatch)
    {
        _dataSource = PostgresDataSources.Create(connectionString);
        PostgresSchema.Ensure(_dataSource, """
            CREATE TABLE IF NOT EXISTS ledger (
              id BIGSERIAL PRIMARY KEY,
              ts TIMESTAMPTZ NOT NULL, request_id TEXT NOT NULL, api_key_id TEXT NOT NULL, strategy TEXT NOT NULL,
              role TEXT NOT NULL, model TEXT NOT NULL, prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL,
              usd DOUBLE PRECISION NOT NULL, cached INTEGER NOT NULL, stand_in INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS ledger_key_ts ON ledger (api_key_id, ts);
            CREATE INDEX IF NOT EXISTS ledger_request ON ledger (request_id);
            """);
    }

    protected override ValueTask DisposeStoreAsync() => _dataSource.DisposeAsync();

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    protected override object Timestamp(DateTimeOffset value) => value.ToUniversalTime();

    protected override DateTimeOffset ReadTimestamp(object value) => value switch
    {
        DateTimeOffset o => o,
        DateTime d => new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc)),
        _ => throw new InvalidCastException($"unexpected timestamp type {value.GetType()}"),
    };
}
