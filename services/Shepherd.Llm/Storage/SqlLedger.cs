using System.Data.Common;
using System.Globalization;

namespace Shepherd.Llm.Storage;

/// <summary>
/// The ledger's SQL, shared by SQLite and PostgreSQL: only the DDL's types and the connection differ, so the
/// queries live once here.
/// </summary>
internal abstract class SqlLedger : ILedger
{
    protected const string Columns = "ts, request_id, api_key_id, strategy, role, model, prompt_tokens, completion_tokens, usd, cached, stand_in";

    public async Task RecordAsync(LedgerEntry entry, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"INSERT INTO ledger ({Columns}) VALUES (@ts, @request_id, @api_key_id, @strategy, @role, @model, @prompt_tokens, @completion_tokens, @usd, @cached, @stand_in)";
        Add(command, "ts", Timestamp(entry.Timestamp));
        Add(command, "request_id", entry.RequestId);
        Add(command, "api_key_id", entry.ApiKeyId);
        Add(command, "strategy", entry.Strategy);
        Add(command, "role", entry.Role);
        Add(command, "model", entry.Model);
        Add(command, "prompt_tokens", entry.PromptTokens);
        Add(command, "completion_tokens", entry.CompletionTokens);
        Add(command, "usd", entry.Usd);
        Add(command, "cached", entry.Cached ? 1 : 0);
        Add(command, "stand_in", entry.StandIn ? 1 : 0);
        await command.ExecuteNonQueryAsync(cancellationToken);
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
