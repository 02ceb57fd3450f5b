using System.Data.Common;
using System.Globalization;

namespace Shepherd.Llm.Storage;

/// <summary>
/// The ledger's SQL, shared by SQLite and PostgreSQL: only the DDL's types and the connection differ, so the
/// queries live once here. Writes go through a group commit (<see cref="GroupCommitQueue{T}"/>): one transaction,
/// so one fsync, per batch of rows on a connection kept open; each caller returns once its batch is committed.
/// </summary>
internal abstract class SqlLedger : ILedger, IAsyncDisposable, IDisposable
{
    protected const string Columns = "ts, request_id, api_key_id, strategy, role, model, prompt_tokens, completion_tokens, usd, cached, stand_in";

    // A batch is one multi-row INSERT: this keeps its parameters under both engines' limits (SQLite 32766, PostgreSQL 65535).
    private const int MaxRowsPerInsert = 1000;

    private readonly GroupCommitQueue<LedgerEntry> _queue;

    // The writer's connection: opened on the first batch, kept open (PRAGMAs run once), replaced after a failed
    // batch. Only the queue's single writer loop touches it.
    private DbConnection? _writer;

    protected SqlLedger(int queueCapacity, int maxBatch)
    {
        _queue = new GroupCommitQueue<LedgerEntry>("ledger", CommitAsync, queueCapacity, Math.Min(maxBatch, MaxRowsPerInsert));
    }

    /// <summary>Rows waiting for the writer (tests watch it to know what a batch will hold).</summary>
    internal int Queued => _queue.Queued;

    /// <summary>Whether a batch is being committed.</summary>
    internal bool Committing => _queue.Committing;

    /// <summary>Completes once the row is committed (group commit: one transaction for whatever queued meanwhile).</summary>
    public Task RecordAsync(LedgerEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return _queue.AddAsync(entry, cancellationToken);
    }

    /// <summary>Commits what is queued, then closes the writer's connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _queue.DisposeAsync();
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
            _writer = null;
        }

        await DisposeStoreAsync();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task CommitAsync(IReadOnlyList<LedgerEntry> batch)
    {
        try
        {
            _writer ??= await OpenAsync(CancellationToken.None);
            await using var transaction = await _writer.BeginTransactionAsync();
            await using var command = _writer.CreateCommand();
            command.Transaction = transaction;
            var values = new System.Text.StringBuilder($"INSERT INTO ledger ({Columns}) VALUES ");
            for (var i = 0; i < batch.Count; i++)
            {
                var entry = batch[i];
                values.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"(@t{i}, @r{i}, @k{i}, @s{i}, @o{i}, @m{i}, @p{i}, @c{i}, @u{i}, @h{i}, @i{i})");
                Add(command, $"t{i}", Timestamp(entry.Timestamp));
                Add(command, $"r{i}", entry.RequestId);
                Add(command, $"k{i}", entry.ApiKeyId);
                Add(command, $"s{i}", entry.Strategy);
                Add(command, $"o{i}", entry.Role);
                Add(command, $"m{i}", entry.Model);
                Add(command, $"p{i}", entry.PromptTokens);
                Add(command, $"c{i}", entry.CompletionTokens);
                Add(command, $"u{i}", entry.Usd);
                Add(command, $"h{i}", entry.Cached ? 1 : 0);
                Add(command, $"i{i}", entry.StandIn ? 1 : 0);
            }

            command.CommandText = values.ToString();
            await command.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }
        catch
        {
            // A connection that failed mid-batch may be broken or hold a half-finished transaction: start afresh.
            if (_writer is not null)
            {
                await _writer.DisposeAsync();
                _writer = null;
            }

            throw;
        }
    }

    public async Task<IReadOnlyList<UsageRow>> TotalsAsync(string? apiKeyId, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var where = new List<string>();
        if (apiKeyId is not null)
        {
            where.Add("api_key_id = @key");
            Add(command, "key", apiKeyId);
        }

        if (from is { } f)
        {
            where.Add("ts >= @from");
            Add(command, "from", Timestamp(f));
        }

        if (to is { } t)
        {
            where.Add("ts < @to");
            Add(command, "to", Timestamp(t));
        }

        command.CommandText =
            "SELECT api_key_id, model, strategy, SUM(CASE WHEN cached = 0 THEN 1 ELSE 0 END), SUM(prompt_tokens), SUM(completion_tokens), SUM(usd) FROM ledger"
            + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "")
            + " GROUP BY api_key_id, model, strategy ORDER BY api_key_id, model, strategy";
        var rows = new List<UsageRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new UsageRow(
                reader.GetString(0), reader.GetString(1), reader.GetString(2),
                Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(4), CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(5), CultureInfo.InvariantCulture),
                Convert.ToDouble(reader.GetValue(6), CultureInfo.InvariantCulture)));
        }

        return rows;
    }

    public async Task<IReadOnlyList<LedgerEntry>> EntriesAsync(string requestId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM ledger WHERE request_id = @id ORDER BY id";
        Add(command, "id", requestId);
        var entries = new List<LedgerEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new LedgerEntry(
                ReadTimestamp(reader.GetValue(0)), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                Convert.ToInt64(reader.GetValue(6), CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(7), CultureInfo.InvariantCulture),
                Convert.ToDouble(reader.GetValue(8), CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(9), CultureInfo.InvariantCulture) != 0, Convert.ToInt64(reader.GetValue(10), CultureInfo.InvariantCulture) != 0));
        }

        return entries;
    }

    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    protected virtual ValueTask DisposeStoreAsync() => ValueTask.CompletedTask;

    protected abstract object Timestamp(DateTimeOffset value);

    protected abstract DateTimeOffset ReadTimestamp(object value);

    protected static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@" + name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
