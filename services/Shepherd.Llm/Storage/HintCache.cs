using System.Data.Common;

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
/// An entry is written once: a second writer of a fresh key (another replica that missed at the same time) changes
/// nothing; only an expired entry is replaced. SQLite per process by default (<see cref="SqliteHintCache"/>), shared
/// by every replica in PostgreSQL (<see cref="PostgresHintCache"/>, with Storage:PostgresConnectionString).
/// </summary>
public abstract class HintCache
{
    protected const string Table = "hint_cache_v2";

    private readonly int _maxEntries;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _time;
    private int _writesSincePrune;

    protected HintCache(int maxEntries, TimeSpan ttl, TimeProvider time)
    {
        _maxEntries = maxEntries;
        _ttl = ttl;
        _time = time;
    }

    /// <summary>
    /// Entries found at start-up in the old table, keyed by model only, and dropped: they may have been written by the
    /// stand-in, so they are never served (a cache may forget; it must not lie about where an answer came from).
    /// </summary>
    public long DiscardedLegacyEntries { get; protected init; }

    /// <summary>How a lookup was satisfied.</summary>
    public enum Match
    {
        Exact,
        CompleteAnswer,
        NeedsCut,
    }

    /// <summary>The column definitions and key every store creates its table with.</summary>
    protected static string CreateTableSql(string integer) => $"""
        CREATE TABLE IF NOT EXISTS {Table} (
          source TEXT NOT NULL, model TEXT NOT NULL, prompt_hash TEXT NOT NULL, completion_tokens {integer} NOT NULL,
          prompt_tokens {integer} NOT NULL, complete INTEGER NOT NULL, text TEXT NOT NULL,
          created_ms {integer} NOT NULL, used_ms {integer} NOT NULL,
          PRIMARY KEY (source, model, prompt_hash, completion_tokens));
        CREATE INDEX IF NOT EXISTS {Table}_used ON {Table} (used_ms);
        """;

    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Deletes every entry but the <paramref name="keep"/> most recently used.</summary>
    protected abstract string DeleteLeastRecentlyUsedSql { get; }

    public async Task<(CachedAnswer Answer, Match How)?> LookupAsync(string source, string model, string promptHash, int tokens, bool allowCut, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        command.CommandText = $"""
            SELECT text, prompt_tokens, completion_tokens, complete FROM {Table}
            WHERE source = @source AND model = @model AND prompt_hash = @hash AND created_ms >= @fresh
            ORDER BY completion_tokens
            """;
        Add(command, "source", source);
        Add(command, "model", model);
        Add(command, "hash", promptHash);
        Add(command, "fresh", now - (long)_ttl.TotalMilliseconds);
        var entries = new List<CachedAnswer>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                entries.Add(new CachedAnswer(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt32(3) != 0));
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
            touch.CommandText = $"UPDATE {Table} SET used_ms = @now WHERE source = @source AND model = @model AND prompt_hash = @hash AND completion_tokens = @tokens";
            Add(touch, "now", now);
            Add(touch, "source", source);
            Add(touch, "model", model);
            Add(touch, "hash", promptHash);
            Add(touch, "tokens", hit.Item1.CompletionTokens);
            await touch.ExecuteNonQueryAsync(cancellationToken);
        }

        return found;
    }

    /// <returns>True when this call wrote the entry; false when a fresh entry of that key was already there (written by
    /// another caller or replica), which is left as it is.</returns>
    public async Task<bool> StoreAsync(string source, string model, string promptHash, CachedAnswer answer, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        // One statement decides who writes: the primary key admits one row, and a conflicting writer replaces it only
        // when it has expired (it is no longer served, but pruning may not have reached it yet).
        command.CommandText = $"""
            INSERT INTO {Table} (source, model, prompt_hash, completion_tokens, prompt_tokens, complete, text, created_ms, used_ms)
            VALUES (@source, @model, @hash, @tokens, @prompt, @complete, @text, @now, @now)
            ON CONFLICT (source, model, prompt_hash, completion_tokens) DO UPDATE SET
              prompt_tokens = excluded.prompt_tokens, complete = excluded.complete, text = excluded.text,
              created_ms = excluded.created_ms, used_ms = excluded.used_ms
            WHERE {Table}.created_ms < @fresh
            """;
        Add(command, "source", source);
        Add(command, "model", model);
        Add(command, "hash", promptHash);
        Add(command, "tokens", answer.CompletionTokens);
        Add(command, "prompt", answer.PromptTokens);
        Add(command, "complete", answer.Complete ? 1 : 0);
        Add(command, "text", answer.Text);
        Add(command, "now", now);
        Add(command, "fresh", now - (long)_ttl.TotalMilliseconds);
        var written = await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        if (Interlocked.Increment(ref _writesSincePrune) >= 64)
        {
            Interlocked.Exchange(ref _writesSincePrune, 0);
            await PruneAsync(connection, now, cancellationToken);
        }

        return written;
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {Table}";
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Drops expired entries, then the least recently used beyond the bound.</summary>
    public async Task PruneAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await PruneAsync(connection, _time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken);
    }

    private async Task PruneAsync(DbConnection connection, long now, CancellationToken cancellationToken)
    {
        await using var expired = connection.CreateCommand();
        expired.CommandText = $"DELETE FROM {Table} WHERE created_ms < @fresh";
        Add(expired, "fresh", now - (long)_ttl.TotalMilliseconds);
        await expired.ExecuteNonQueryAsync(cancellationToken);
        await using var bound = connection.CreateCommand();
        bound.CommandText = DeleteLeastRecentlyUsedSql;
        Add(bound, "keep", _maxEntries);
        await bound.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@" + name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
