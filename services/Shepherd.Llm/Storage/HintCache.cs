using Microsoft.Data.Sqlite;

namespace Shepherd.Llm.Storage;

/// <summary>A cached LLM answer: its text, how many tokens it holds, and whether the LLM ended it by itself.</summary>
public sealed record CachedAnswer(string Text, long PromptTokens, long CompletionTokens, bool Complete);

/// <summary>
/// LLM answers at temperature 0 are deterministic, so shorter hints are prefixes of longer answers. Entries are keyed
/// by (source, model, prompt hash, token count), where the source says who wrote the answer (a real endpoint's base
/// URL, or the local stand-in and its address; <see cref="ILlmClient.Source"/>), so a stand-in's text is never served
/// as the real LLM's, nor one endpoint's as another's. A request for n tokens is served from: an entry of exactly n
/// tokens; a complete answer of at most n tokens (the LLM would stop there too); or, when allowed, a longer entry cut
/// to n tokens by the caller. Bounded by Storage:HintCacheMaxEntries (least recently used go first) and an expiry.
/// </summary>
public sealed class HintCache
{
    /// <summary>The table before entries had a source (keyed by model only): nobody knows who wrote them.</summary>
    private const string LegacyTable = "hint_cache";

    private readonly string _connectionString;
    private readonly int _maxEntries;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _time;
    private int _writesSincePrune;

    public HintCache(string path, int maxEntries, TimeSpan ttl, TimeProvider time)
    {
        _connectionString = SqliteFiles.ConnectionString(path);
        _maxEntries = maxEntries;
        _ttl = ttl;
        _time = time;
        using var connection = SqliteFiles.Open(_connectionString);
        DiscardedLegacyEntries = DropLegacyTable(connection);
        using var command = connection.CreateCommand();
        command.CommandText = """
            CREATE TABLE IF NOT EXISTS hint_cache_v2 (
              source TEXT NOT NULL, model TEXT NOT NULL, prompt_hash TEXT NOT NULL, completion_tokens INTEGER NOT NULL,
              prompt_tokens INTEGER NOT NULL, complete INTEGER NOT NULL, text TEXT NOT NULL,
              created_ms INTEGER NOT NULL, used_ms INTEGER NOT NULL,
              PRIMARY KEY (source, model, prompt_hash, completion_tokens));
            CREATE INDEX IF NOT EXISTS hint_cache_v2_used ON hint_cache_v2 (used_ms);
            """;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Entries found at start-up in the old table, keyed by model only, and dropped: they may have been written by the
    /// stand-in, so they are never served (a cache may forget; it must not lie about where an answer came from).
    /// </summary>
    public long DiscardedLegacyEntries { get; }

    /// <summary>How a lookup was satisfied.</summary>
    public enum Match
    {
        Exact,
        CompleteAnswer,
        NeedsCut,
    }

    public async Task<(CachedAnswer Answer, Match How)?> LookupAsync(string source, string model, string promptHash, int tokens, bool allowCut, CancellationToken cancellationToken)
    {
        await using var connection = SqliteFiles.Open(_connectionString);
        await using var command = connection.CreateCommand();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        command.CommandText = """
            SELECT text, prompt_tokens, completion_tokens, complete FROM hint_cache_v2
            WHERE source = @source AND model = @model AND prompt_hash = @hash AND created_ms >= @fresh
            ORDER BY completion_tokens
            """;
        command.Parameters.AddWithValue("@source", source);
        command.Parameters.AddWithValue("@model", model);
        command.Parameters.AddWithValue("@hash", promptHash);
        command.Parameters.AddWithValue("@fresh", now - (long)_ttl.TotalMilliseconds);
        var entries = new List<CachedAnswer>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                entries.Add(new CachedAnswer(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3) != 0));
            }
        }

        (CachedAnswer, Match)? found =
            entries.FirstOrDefault(e => e.CompletionTokens == tokens) is { } exact ? (exact, Match.Exact)
            : entries.LastOrDefault(e => e.Complete && e.CompletionTokens <= tokens) is { } complete ? (complete, Match.CompleteAnswer)
            : allowCut && entries.FirstOrDefault(e => e.CompletionTokens > tokens) is { } longer ? (longer, Match.NeedsCut)
            : null;
        if (found is { } hit)
        {
            await using var touch = connection.CreateCommand();
            touch.CommandText = "UPDATE hint_cache_v2 SET used_ms = @now WHERE source = @source AND model = @model AND prompt_hash = @hash AND completion_tokens = @tokens";
            touch.Parameters.AddWithValue("@now", now);
            touch.Parameters.AddWithValue("@source", source);
            touch.Parameters.AddWithValue("@model", model);
            touch.Parameters.AddWithValue("@hash", promptHash);
            touch.Parameters.AddWithValue("@tokens", hit.Item1.CompletionTokens);
            await touch.ExecuteNonQueryAsync(cancellationToken);
        }

        return found;
    }

    public async Task StoreAsync(string source, string model, string promptHash, CachedAnswer answer, CancellationToken cancellationToken)
    {
        await using var connection = SqliteFiles.Open(_connectionString);
        await using var command = connection.CreateCommand();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        command.CommandText = """
            INSERT OR REPLACE INTO hint_cache_v2 (source, model, prompt_hash, completion_tokens, prompt_tokens, complete, text, created_ms, used_ms)
            VALUES (@source, @model, @hash, @tokens, @prompt, @complete, @text, @now, @now)
            """;
        command.Parameters.AddWithValue("@source", source);
        command.Parameters.AddWithValue("@model", model);
        command.Parameters.AddWithValue("@hash", promptHash);
        command.Parameters.AddWithValue("@tokens", answer.CompletionTokens);
        command.Parameters.AddWithValue("@prompt", answer.PromptTokens);
        command.Parameters.AddWithValue("@complete", answer.Complete ? 1 : 0);
        command.Parameters.AddWithValue("@text", answer.Text);
        command.Parameters.AddWithValue("@now", now);
        await command.ExecuteNonQueryAsync(cancellationToken);
        if (Interlocked.Increment(ref _writesSincePrune) >= 64)
        {
            Interlocked.Exchange(ref _writesSincePrune, 0);
            await PruneAsync(connection, now, cancellationToken);
        }
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        await using var connection = SqliteFiles.Open(_connectionString);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM hint_cache_v2";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Drops expired entries, then the least recently used beyond the bound.</summary>
    public async Task PruneAsync(CancellationToken cancellationToken)
    {
        await using var connection = SqliteFiles.Open(_connectionString);
        await PruneAsync(connection, _time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken);
    }

    private async Task PruneAsync(SqliteConnection connection, long now, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = """
            DELETE FROM hint_cache_v2 WHERE created_ms < @fresh;
            DELETE FROM hint_cache_v2 WHERE rowid IN (
              SELECT rowid FROM hint_cache_v2 ORDER BY used_ms DESC LIMIT -1 OFFSET @max);
            """;
        command.Parameters.AddWithValue("@fresh", now - (long)_ttl.TotalMilliseconds);
        command.Parameters.AddWithValue("@max", _maxEntries);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

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
