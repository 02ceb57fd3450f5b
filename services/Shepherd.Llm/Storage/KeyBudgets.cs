using System.Data.Common;
using System.Globalization;
using Npgsql;
using Shepherd.Core.Errors;

namespace Shepherd.Llm.Storage;

/// <summary>
/// Per-key budgets in USD over UTC calendar windows (day, month), enforced before every paid LLM call: the call's
/// worst case is reserved against every window that has a limit, in one transaction, by a conditional UPDATE
/// (<c>spent + reserved + worst &lt;= limit</c>), so concurrent requests — in one process (SQLite, BEGIN IMMEDIATE)
/// or across orchestrator replicas (PostgreSQL, row locks) — can never hold more than the limit between them. After
/// the call the reservation is settled: its hold is released and the real cost added to spent. A reservation whose
/// process died before settling expires after Budgets:ReservationTtlSeconds and is released by the next reserve of
/// that key. Lives in the ledger's database (SQLite file or PostgreSQL).
/// </summary>
public sealed class KeyBudgets : IAsyncDisposable
{
    // Doubles summed in a different order may differ in the last bits: a call that fits exactly must not be refused.
    private const double Epsilon = 1e-12;

    private readonly Func<CancellationToken, Task<DbConnection>> _open;
    private readonly IAsyncDisposable? _store;
    private readonly KeyBudgetOptions _options;
    private readonly TimeProvider _time;

    private KeyBudgets(Func<CancellationToken, Task<DbConnection>> open, IAsyncDisposable? store, KeyBudgetOptions options, TimeProvider time, string schemaLock = "")
    {
        _open = open;
        _store = store;
        _options = options;
        _time = time;
        using var connection = open(CancellationToken.None).GetAwaiter().GetResult();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = schemaLock + """
            CREATE TABLE IF NOT EXISTS key_budget_limits (
              api_key_id TEXT PRIMARY KEY, daily_usd DOUBLE PRECISION, monthly_usd DOUBLE PRECISION,
              per_request_usd DOUBLE PRECISION, on_exceeded TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS key_budget_windows (
              api_key_id TEXT NOT NULL, window_kind TEXT NOT NULL, window_start TEXT NOT NULL,
              spent_usd DOUBLE PRECISION NOT NULL, reserved_usd DOUBLE PRECISION NOT NULL,
              PRIMARY KEY (api_key_id, window_kind, window_start));
            CREATE TABLE IF NOT EXISTS key_budget_reservations (
              id TEXT PRIMARY KEY, api_key_id TEXT NOT NULL, amount_usd DOUBLE PRECISION NOT NULL,
              day_start TEXT NOT NULL, month_start TEXT NOT NULL, expires_ms BIGINT NOT NULL);
            CREATE INDEX IF NOT EXISTS key_budget_reservations_expiry ON key_budget_reservations (api_key_id, expires_ms);
            """;
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    /// <summary>The budgets in the ledger's store: PostgreSQL when Storage:PostgresConnectionString is set, else the SQLite file.</summary>
    public static KeyBudgets Create(StorageOptions storage, KeyBudgetOptions options, TimeProvider time)
    {
        if (!string.IsNullOrWhiteSpace(storage.PostgresConnectionString))
        {
            var source = PostgresDataSources.Create(storage.PostgresConnectionString);
            // Replicas starting together would race on CREATE TABLE IF NOT EXISTS (PostgreSQL then fails one of them on
            // its catalog's unique index): the schema is created under a transaction-scoped advisory lock.
            return new KeyBudgets(async ct => await source.OpenConnectionAsync(ct), source, options, time, "SELECT pg_advisory_xact_lock(72617301);\n");
        }

        var connectionString = SqliteFiles.ConnectionString(storage.SqlitePath);
        return new KeyBudgets(_ => Task.FromResult<DbConnection>(SqliteFiles.Open(connectionString)), null, options, time);
    }

    /// <summary>The key's limits: an admin's SetBudget, else Budgets:Keys, else null (no budget).</summary>
    public async Task<KeyBudgetLimits?> LimitsAsync(string apiKeyId, CancellationToken cancellationToken)
    {
        await using var connection = await _open(cancellationToken);
        return await LimitsAsync(connection, null, apiKeyId, cancellationToken);
    }

    public async Task SetLimitsAsync(string apiKeyId, KeyBudgetLimits limits, CancellationToken cancellationToken)
    {
        await using var connection = await _open(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO key_budget_limits (api_key_id, daily_usd, monthly_usd, per_request_usd, on_exceeded) VALUES (@k, @d, @m, @r, @p)
            ON CONFLICT (api_key_id) DO UPDATE SET daily_usd = excluded.daily_usd, monthly_usd = excluded.monthly_usd,
              per_request_usd = excluded.per_request_usd, on_exceeded = excluded.on_exceeded
            """;
        Add(command, "k", apiKeyId);
        Add(command, "d", limits.DailyUsd);
        Add(command, "m", limits.MonthlyUsd);
        Add(command, "r", limits.PerRequestUsd);
        Add(command, "p", limits.OnExceeded.ToString());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Holds <paramref name="worstUsd"/> against the key's windows. Null when the key has no budget. When the budget
    /// cannot cover it: <see cref="LlmBudgetExhaustedException"/> (policy degrade: the SLM answers) or
    /// <see cref="BudgetRefusedException"/> (policy refuse).
    /// </summary>
    public async Task<BudgetReservation?> ReserveAsync(string apiKeyId, double worstUsd, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var (day, month) = (DayStart(now), MonthStart(now));
        await using var connection = await _open(cancellationToken);
        // A key without a budget costs one read, not a write transaction (SQLite's BEGIN IMMEDIATE would queue every
        // paid call behind the ledger's writer).
        if (await LimitsAsync(connection, null, apiKeyId, cancellationToken) is null)
        {
            return null;
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var limits = await LimitsAsync(connection, transaction, apiKeyId, cancellationToken);
        if (limits is null)
        {
            return null;
        }

        if (limits.PerRequestUsd is { } cap && worstUsd > cap + Epsilon)
        {
            throw Exceeded(limits, $"budget: this call could cost up to ${worstUsd:F6}, over key '{apiKeyId}'s per-request cap of ${cap:F6}", null);
        }

        await ReleaseExpiredAsync(connection, transaction, apiKeyId, now, cancellationToken);
        foreach (var (kind, start, limit, end) in Windows(limits, day, month))
        {
            await EnsureWindowAsync(connection, transaction, apiKeyId, kind, start, cancellationToken);
            if (limit is not { } max)
            {
                continue;
            }

            await using var hold = Command(connection, transaction, """
                UPDATE key_budget_windows SET reserved_usd = reserved_usd + @w
                WHERE api_key_id = @k AND window_kind = @kind AND window_start = @s AND spent_usd + reserved_usd + @w <= @limit
                """);
            Add(hold, "w", worstUsd);
            Add(hold, "k", apiKeyId);
            Add(hold, "kind", kind);
            Add(hold, "s", start);
            Add(hold, "limit", max + Epsilon);
            if (await hold.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                await transaction.RollbackAsync(CancellationToken.None);
                throw Exceeded(limits, $"budget: this call could cost up to ${worstUsd:F6}, more than key '{apiKeyId}'s {(kind == "day" ? "daily" : "monthly")} budget of ${max:F6} has left", end - now);
            }
        }

        var reservation = new BudgetReservation(Guid.NewGuid().ToString("N"), apiKeyId, worstUsd, day, month);
        await using (var insert = Command(connection, transaction, """
            INSERT INTO key_budget_reservations (id, api_key_id, amount_usd, day_start, month_start, expires_ms) VALUES (@id, @k, @a, @d, @m, @e)
            """))
        {
            Add(insert, "id", reservation.Id);
            Add(insert, "k", apiKeyId);
            Add(insert, "a", worstUsd);
            Add(insert, "d", day);
            Add(insert, "m", month);
            Add(insert, "e", (now + TimeSpan.FromSeconds(_options.ReservationTtlSeconds)).ToUnixTimeMilliseconds());
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return reservation;
    }

    /// <summary>Releases the hold (unless it already expired and was released) and books the real cost to the reserved windows.</summary>
    public async Task SettleAsync(BudgetReservation reservation, double actualUsd)
    {
        await using var connection = await _open(CancellationToken.None);
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var delete = Command(connection, transaction, "DELETE FROM key_budget_reservations WHERE id = @id RETURNING amount_usd"))
        {
            Add(delete, "id", reservation.Id);
            var held = await delete.ExecuteScalarAsync() is { } amount and not DBNull ? Convert.ToDouble(amount, CultureInfo.InvariantCulture) : 0;
            foreach (var (kind, start) in new[] { ("day", reservation.DayStart), ("month", reservation.MonthStart) })
            {
                await EnsureWindowAsync(connection, transaction, reservation.ApiKeyId, kind, start, CancellationToken.None);
                await using var book = Command(connection, transaction, """
                    UPDATE key_budget_windows SET reserved_usd = reserved_usd - @held, spent_usd = spent_usd + @cost
                    WHERE api_key_id = @k AND window_kind = @kind AND window_start = @s
                    """);
                Add(book, "held", held);
                Add(book, "cost", actualUsd);
                Add(book, "k", reservation.ApiKeyId);
                Add(book, "kind", kind);
                Add(book, "s", start);
                await book.ExecuteNonQueryAsync();
            }
        }

        await transaction.CommitAsync();
    }

    /// <summary>The key's windows now (those with a limit), for Usage; null when the key has no budget.</summary>
    public async Task<(KeyBudgetLimits Limits, IReadOnlyList<BudgetWindowState> Windows)?> StatusAsync(string apiKeyId, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        await using var connection = await _open(cancellationToken);
        var limits = await LimitsAsync(connection, null, apiKeyId, cancellationToken);
        if (limits is null)
        {
            return null;
        }

        var windows = new List<BudgetWindowState>();
        foreach (var (kind, start, limit, end) in Windows(limits, DayStart(now), MonthStart(now)))
        {
            if (limit is not { } max)
            {
                continue;
            }

            await using var read = Command(connection, null, """
                SELECT spent_usd, reserved_usd FROM key_budget_windows WHERE api_key_id = @k AND window_kind = @kind AND window_start = @s
                """);
            Add(read, "k", apiKeyId);
            Add(read, "kind", kind);
            Add(read, "s", start);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            var (spent, reserved) = await reader.ReadAsync(cancellationToken) ? (reader.GetDouble(0), reader.GetDouble(1)) : (0, 0);
            windows.Add(new BudgetWindowState(kind, max, spent, Math.Max(0, reserved), end));
        }

        return (limits, windows);
    }

    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    private Exception Exceeded(KeyBudgetLimits limits, string message, TimeSpan? untilReset) =>
        limits.OnExceeded == BudgetExceededPolicy.Refuse ? new BudgetRefusedException(message, untilReset) : new LlmBudgetExhaustedException(message);

    private async Task<KeyBudgetLimits?> LimitsAsync(DbConnection connection, DbTransaction? transaction, string apiKeyId, CancellationToken cancellationToken)
    {
        await using (var read = Command(connection, transaction, "SELECT daily_usd, monthly_usd, per_request_usd, on_exceeded FROM key_budget_limits WHERE api_key_id = @k"))
        {
            Add(read, "k", apiKeyId);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                return new KeyBudgetLimits(
                    reader.IsDBNull(0) ? null : reader.GetDouble(0), reader.IsDBNull(1) ? null : reader.GetDouble(1), reader.IsDBNull(2) ? null : reader.GetDouble(2),
                    Enum.Parse<BudgetExceededPolicy>(reader.GetString(3)));
            }
        }

        return _options.Keys.TryGetValue(apiKeyId, out var entry)
            ? new KeyBudgetLimits(entry.DailyUsd, entry.MonthlyUsd, entry.PerRequestUsd, entry.OnExceeded ?? _options.DefaultOnExceeded)
            : null;
    }

    /// <summary>Releases this key's reservations whose process never settled them: their hold leaves the windows they were taken from.</summary>
    private static async Task ReleaseExpiredAsync(DbConnection connection, DbTransaction transaction, string apiKeyId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var expired = new List<(double Amount, string Day, string Month)>();
        await using (var delete = Command(connection, transaction, "DELETE FROM key_budget_reservations WHERE api_key_id = @k AND expires_ms < @now RETURNING amount_usd, day_start, month_start"))
        {
            Add(delete, "k", apiKeyId);
            Add(delete, "now", now.ToUnixTimeMilliseconds());
            await using var reader = await delete.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                expired.Add((reader.GetDouble(0), reader.GetString(1), reader.GetString(2)));
            }
        }

        foreach (var (amount, day, month) in expired)
        {
            foreach (var (kind, start) in new[] { ("day", day), ("month", month) })
            {
                await using var release = Command(connection, transaction,
                    "UPDATE key_budget_windows SET reserved_usd = reserved_usd - @a WHERE api_key_id = @k AND window_kind = @kind AND window_start = @s");
                Add(release, "a", amount);
                Add(release, "k", apiKeyId);
                Add(release, "kind", kind);
                Add(release, "s", start);
                await release.ExecuteNonQueryAsync(cancellationToken);
            }
        }
    }

    private static async Task EnsureWindowAsync(DbConnection connection, DbTransaction transaction, string apiKeyId, string kind, string start, CancellationToken cancellationToken)
    {
        await using var insert = Command(connection, transaction, """
            INSERT INTO key_budget_windows (api_key_id, window_kind, window_start, spent_usd, reserved_usd) VALUES (@k, @kind, @s, 0, 0)
            ON CONFLICT (api_key_id, window_kind, window_start) DO NOTHING
            """);
        Add(insert, "k", apiKeyId);
        Add(insert, "kind", kind);
        Add(insert, "s", start);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Day first, then month: every transaction locks window rows in the same order (no deadlocks).</summary>
    private static IEnumerable<(string Kind, string Start, double? Limit, DateTimeOffset End)> Windows(KeyBudgetLimits limits, string day, string month)
    {
        var dayStart = DateTimeOffset.ParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var monthStart = DateTimeOffset.ParseExact(month, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        yield return ("day", day, limits.DailyUsd, dayStart.AddDays(1));
        yield return ("month", month, limits.MonthlyUsd, monthStart.AddMonths(1));
    }

    private static string DayStart(DateTimeOffset now) => now.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string MonthStart(DateTimeOffset now) => now.UtcDateTime.ToString("yyyy-MM-01", CultureInfo.InvariantCulture);

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@" + name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }
}
