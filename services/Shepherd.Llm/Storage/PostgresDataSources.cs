using Npgsql;

namespace Shepherd.Llm.Storage;

/// <summary>
/// Every PostgreSQL store (ledger, hint cache, key budgets) opens its pool here. Npgsql's default of 100 connections
/// per pool, times three stores, times the orchestrator replicas, exhausts a default server's max_connections (100)
/// under a burst ("53300: sorry, too many clients already" surfaced as INTERNAL); a pool of
/// <see cref="DefaultMaxPoolSize"/> makes a burst wait for a connection instead. A connection string that sets
/// "Maximum Pool Size" itself keeps its value.
/// </summary>
public static class PostgresDataSources
{
    public const int DefaultMaxPoolSize = 8;

    public static NpgsqlDataSource Create(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!HasExplicitMaxPoolSize(connectionString))
        {
            builder.MaxPoolSize = DefaultMaxPoolSize;
        }

        return NpgsqlDataSource.Create(builder.ConnectionString);
    }

    private static bool HasExplicitMaxPoolSize(string connectionString) =>
        connectionString.Contains("Maximum Pool Size", StringComparison.OrdinalIgnoreCase)
        || connectionString.Contains("MaxPoolSize", StringComparison.OrdinalIgnoreCase)
        || connectionString.Contains("Max Pool Size", StringComparison.OrdinalIgnoreCase);
}
