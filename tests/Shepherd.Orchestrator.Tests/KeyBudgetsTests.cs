using Shepherd.Core.Errors;
using Shepherd.Llm;
using Shepherd.Llm.Storage;

namespace Shepherd.Orchestrator.Tests;

/// <summary>
/// <see cref="KeyBudgets"/> on a real SQLite file (one process, many concurrent reservations) and on the PostgreSQL
/// of SHEPHERD_TEST_POSTGRES: reservations never hold more than the limit, settling books the real cost, and a
/// reservation never settled (its process died) expires and is released.
/// </summary>
public sealed class KeyBudgetsTests : IDisposable
{
    private const double Worst = 0.001;

    private readonly string _directory = Directory.CreateTempSubdirectory("shepherd-budgets-").FullName;
    private readonly Clock _clock = new(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));

    public static TheoryData<string> Stores => new() { "sqlite", "postgres" };

    [SkippableTheory]
    [MemberData(nameof(Stores))]
    public async Task ConcurrentReservationsNeverHoldMoreThanTheLimit(string store)
    {
        await using var budgets = Create(store, out var key, new KeyBudgetEntry { DailyUsd = 10 * Worst, OnExceeded = BudgetExceededPolicy.Refuse });

        var attempts = await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ =>
        {
            try
            {
                return await budgets.ReserveAsync(key, Worst, CancellationToken.None);
            }
            catch (BudgetRefusedException)
            {
                return null;
            }
        }));

        var held = attempts.OfType<BudgetReservation>().ToArray();
        Assert.Equal(10, held.Length);
        var day = await DayAsync(budgets, key);
        Assert.Equal(10 * Worst, day.ReservedUsd, 1e-12);
        Assert.Equal(0, day.RemainingUsd, 1e-12);
        foreach (var reservation in held)
        {
            await budgets.SettleAsync(reservation, Worst / 4);
        }

        day = await DayAsync(budgets, key);
        Assert.Equal(0, day.ReservedUsd, 1e-12);
        Assert.Equal(10 * Worst / 4, day.SpentUsd, 1e-12);
        Assert.Equal(new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero), day.End);
    }

    [SkippableTheory]
    [MemberData(nameof(Stores))]
    public async Task AReservationNeverSettledExpiresAndIsReleased(string store)
    {
        await using var budgets = Create(store, out var key, new KeyBudgetEntry { DailyUsd = 1.5 * Worst });
        var orphan = await budgets.ReserveAsync(key, Worst, CancellationToken.None);
        Assert.NotNull(orphan);

        // Policy degrade: the SLM answers instead (LiveExecutor classifies this as BudgetExhausted).
        await Assert.ThrowsAsync<LlmBudgetExhaustedException>(() => budgets.ReserveAsync(key, Worst, CancellationToken.None));
        _clock.Advance(TimeSpan.FromSeconds(61));
        var next = await budgets.ReserveAsync(key, Worst, CancellationToken.None);

        Assert.NotNull(next);
        Assert.Equal(Worst, (await DayAsync(budgets, key)).ReservedUsd, 1e-12);
        // The orphan's call did happen after all: settling it late books its cost and releases nothing twice.
        await budgets.SettleAsync(orphan!, Worst / 2);
        await budgets.SettleAsync(next!, Worst / 2);
        var day = await DayAsync(budgets, key);
        Assert.Equal(0, day.ReservedUsd, 1e-12);
        Assert.Equal(Worst, day.SpentUsd, 1e-12);
    }

    [SkippableTheory]
    [MemberData(nameof(Stores))]
    public async Task APerRequestCapAndAnAdminLimitApply(string store)
    {
        await using var budgets = Create(store, out var key, new KeyBudgetEntry { DailyUsd = 100 * Worst, PerRequestUsd = Worst / 2, OnExceeded = BudgetExceededPolicy.Refuse });

        var capped = await Assert.ThrowsAsync<BudgetRefusedException>(() => budgets.ReserveAsync(key, Worst, CancellationToken.None));
        Assert.Contains("per-request cap", capped.Message);
        await budgets.SetLimitsAsync(key, new KeyBudgetLimits(null, 2 * Worst, null, BudgetExceededPolicy.Degrade), CancellationToken.None);
        var reservation = await budgets.ReserveAsync(key, Worst, CancellationToken.None);

        Assert.NotNull(reservation);
        var status = await budgets.StatusAsync(key, CancellationToken.None);
        var month = Assert.Single(status!.Value.Windows);
        Assert.Equal("month", month.Window);
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), month.End);
        Assert.Null(await budgets.ReserveAsync("no-budget-" + key, 1e9, CancellationToken.None));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static async Task<BudgetWindowState> DayAsync(KeyBudgets budgets, string key) =>
        (await budgets.StatusAsync(key, CancellationToken.None))!.Value.Windows.Single(w => w.Window == "day");

    private KeyBudgets Create(string store, out string key, KeyBudgetEntry entry)
    {
        var postgres = Environment.GetEnvironmentVariable(PostgresLedgerTests.Variable);
        Skip.If(store == "postgres" && postgres is null, $"{PostgresLedgerTests.Variable} is not set (.ci/run starts PostgreSQL from apt and sets it)");
        key = "unit-" + Guid.NewGuid().ToString("N")[..12];
        var storage = new StorageOptions { SqlitePath = Path.Combine(_directory, "budgets.db"), PostgresConnectionString = store == "postgres" ? postgres : null };
        var options = new KeyBudgetOptions { ReservationTtlSeconds = 60, Keys = { [key] = entry } };
        return KeyBudgets.Create(storage, options, _clock);
    }

    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public void Advance(TimeSpan by) => _now += by;

        public override DateTimeOffset GetUtcNow() => _now;
    }
}
