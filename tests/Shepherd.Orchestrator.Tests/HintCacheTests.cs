using Microsoft.Data.Sqlite;
using Shepherd.Llm;
using Shepherd.Llm.Storage;

namespace Shepherd.Orchestrator.Tests;

/// <summary>The hint cache on a real SQLite file: what it serves, its bound and its expiry.</summary>
public sealed class HintCacheTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"hint-cache-{Guid.NewGuid():N}.db");
    private static readonly string Real = LlmSources.Endpoint("https://api.groq.com/openai/v1");
    private static readonly string StandIn = LlmSources.StandIn("http://127.0.0.1:5101");

    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero));

    public void Dispose()
    {
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task ServesExactLengthsCompleteAnswersAndCutsOnlyWhenAllowed()
    {
        var cache = new SqliteHintCache(_path, 100, TimeSpan.FromHours(1), _clock);
        await cache.StoreAsync(Real, "m", "q", new CachedAnswer("a b c d e f", 10, 6, Complete: true), CancellationToken.None);
        await cache.StoreAsync(Real, "m", "q", new CachedAnswer("a b", 10, 2, Complete: false), CancellationToken.None);

        Assert.Equal(HintCache.Match.Exact, (await cache.LookupAsync(Real, "m", "q", 2, allowCut: false, CancellationToken.None))!.Value.How);
        Assert.Equal(HintCache.Match.CompleteAnswer, (await cache.LookupAsync(Real, "m", "q", 50, allowCut: false, CancellationToken.None))!.Value.How);
        Assert.Null(await cache.LookupAsync(Real, "m", "q", 4, allowCut: false, CancellationToken.None));
        var cut = await cache.LookupAsync(Real, "m", "q", 4, allowCut: true, CancellationToken.None);
        Assert.Equal((HintCache.Match.NeedsCut, 6L), (cut!.Value.How, cut.Value.Answer.CompletionTokens));
        Assert.Null(await cache.LookupAsync(Real, "other-model", "q", 2, allowCut: true, CancellationToken.None));
    }

    [Fact]
    public async Task IsBoundedByEntriesEvictingTheLeastRecentlyUsed()
    {
        var cache = new SqliteHintCache(_path, 3, TimeSpan.FromHours(1), _clock);
        for (var i = 0; i < 5; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            await cache.StoreAsync(Real, "m", $"q{i}", new CachedAnswer("x", 1, 1, Complete: true), CancellationToken.None);
        }

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(await cache.LookupAsync(Real, "m", "q0", 1, allowCut: false, CancellationToken.None));
        await cache.PruneAsync(CancellationToken.None);

        Assert.Equal(3, await cache.CountAsync(CancellationToken.None));
        Assert.NotNull(await cache.LookupAsync(Real, "m", "q0", 1, allowCut: false, CancellationToken.None));
        Assert.Null(await cache.LookupAsync(Real, "m", "q1", 1, allowCut: false, CancellationToken.None));
        Assert.Null(await cache.LookupAsync(Real, "m", "q2", 1, allowCut: false, CancellationToken.None));
        Assert.NotNull(await cache.LookupAsync(Real, "m", "q4", 1, allowCut: false, CancellationToken.None));
    }

    [Fact]
    public async Task EntriesExpire()
    {
        var cache = new SqliteHintCache(_path, 100, TimeSpan.FromHours(1), _clock);
        await cache.StoreAsync(Real, "m", "q", new CachedAnswer("x", 1, 1, Complete: true), CancellationToken.None);

        _clock.Advance(TimeSpan.FromMinutes(59));
        Assert.NotNull(await cache.LookupAsync(Real, "m", "q", 1, allowCut: false, CancellationToken.None));
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(await cache.LookupAsync(Real, "m", "q", 1, allowCut: false, CancellationToken.None));
        await cache.PruneAsync(CancellationToken.None);
        Assert.Equal(0, await cache.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AnAnswerIsServedOnlyToTheSourceThatWroteIt()
    {
        var cache = new SqliteHintCache(_path, 100, TimeSpan.FromHours(1), _clock);
        await cache.StoreAsync(StandIn, "llama-3.3-70b-versatile", "q", new CachedAnswer("stand-in text", 10, 2, Complete: true), CancellationToken.None);
        var reopened = new SqliteHintCache(_path, 100, TimeSpan.FromHours(1), _clock);

        Assert.Null(await reopened.LookupAsync(Real, "llama-3.3-70b-versatile", "q", 2, allowCut: true, CancellationToken.None));
        Assert.Null(await reopened.LookupAsync(LlmSources.Endpoint("https://api.openai.com/v1"), "llama-3.3-70b-versatile", "q", 2, allowCut: true, CancellationToken.None));
        Assert.Null(await reopened.LookupAsync(LlmSources.StandIn("http://127.0.0.1:6101"), "llama-3.3-70b-versatile", "q", 2, allowCut: true, CancellationToken.None));
        var hit = await reopened.LookupAsync(StandIn, "llama-3.3-70b-versatile", "q", 2, allowCut: false, CancellationToken.None);
        Assert.Equal("stand-in text", hit!.Value.Answer.Text);

        await reopened.StoreAsync(Real, "llama-3.3-70b-versatile", "q", new CachedAnswer("real text", 10, 2, Complete: true), CancellationToken.None);
        Assert.Equal("real text", (await reopened.LookupAsync(Real, "llama-3.3-70b-versatile", "q", 2, allowCut: false, CancellationToken.None))!.Value.Answer.Text);
        Assert.Equal("stand-in text", (await reopened.LookupAsync(StandIn, "llama-3.3-70b-versatile", "q", 2, allowCut: false, CancellationToken.None))!.Value.Answer.Text);
    }

    [Fact]
    public void SourcesAreNormalisedAndTheStandInNeverLooksLikeAnEndpoint()
    {
        Assert.Equal(LlmSources.Endpoint("https://API.groq.com/openai/v1/"), LlmSources.Endpoint("https://api.groq.com:443/openai/v1"));
        Assert.NotEqual(LlmSources.StandIn("http://127.0.0.1:5101"), LlmSources.Endpoint("http://127.0.0.1:5101"));
    }

    [Fact]
    public async Task OldFormatEntriesOfUnknownSourceAreDroppedNotServed()
    {
        // The schema before entries had a source: keyed by model only, so a stand-in's text looked like the LLM's.
        await using (var connection = new SqliteConnection($"Data Source={_path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE hint_cache (
                  model TEXT NOT NULL, prompt_hash TEXT NOT NULL, completion_tokens INTEGER NOT NULL,
                  prompt_tokens INTEGER NOT NULL, complete INTEGER NOT NULL, text TEXT NOT NULL,
                  created_ms INTEGER NOT NULL, used_ms INTEGER NOT NULL,
                  PRIMARY KEY (model, prompt_hash, completion_tokens));
                CREATE INDEX hint_cache_used ON hint_cache (used_ms);
                INSERT INTO hint_cache VALUES ('llama-3.3-70b-versatile', 'q', 2, 10, 1, 'written by the stand-in', @now, @now);
                INSERT INTO hint_cache VALUES ('llama-3.3-70b-versatile', 'q', 4, 10, 0, 'also the stand-in', @now, @now);
                """;
            command.Parameters.AddWithValue("@now", _clock.GetUtcNow().ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync();
        }

        var cache = new SqliteHintCache(_path, 100, TimeSpan.FromHours(1), _clock);

        Assert.Equal(2, cache.DiscardedLegacyEntries);
        Assert.Equal(0, await cache.CountAsync(CancellationToken.None));
        Assert.Null(await cache.LookupAsync(Real, "llama-3.3-70b-versatile", "q", 2, allowCut: true, CancellationToken.None));
        Assert.Null(await cache.LookupAsync(StandIn, "llama-3.3-70b-versatile", "q", 2, allowCut: true, CancellationToken.None));
        await cache.StoreAsync(Real, "llama-3.3-70b-versatile", "q", new CachedAnswer("real text", 10, 2, Complete: true), CancellationToken.None);
        Assert.Equal(0, new SqliteHintCache(_path, 100, TimeSpan.FromHours(1), _clock).DiscardedLegacyEntries);
        Assert.NotNull(await cache.LookupAsync(Real, "llama-3.3-70b-versatile", "q", 2, allowCut: false, CancellationToken.None));
    }
}
