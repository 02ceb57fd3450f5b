using Shepherd.Llm.Storage;

namespace Shepherd.Orchestrator.Tests;

/// <summary>The hint cache on a real SQLite file: what it serves, its bound and its expiry.</summary>
public sealed class HintCacheTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"hint-cache-{Guid.NewGuid():N}.db");
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
        var cache = new HintCache(_path, 100, TimeSpan.FromHours(1), _clock);
        await cache.StoreAsync("m", "q", new CachedAnswer("a b c d e f", 10, 6, Complete: true), CancellationToken.None);
        await cache.StoreAsync("m", "q", new CachedAnswer("a b", 10, 2, Complete: false), CancellationToken.None);

        Assert.Equal(HintCache.Match.Exact, (await cache.LookupAsync("m", "q", 2, allowCut: false, CancellationToken.None))!.Value.How);
        Assert.Equal(HintCache.Match.CompleteAnswer, (await cache.LookupAsync("m", "q", 50, allowCut: false, CancellationToken.None))!.Value.How);
        Assert.Null(await cache.LookupAsync("m", "q", 4, allowCut: false, CancellationToken.None));
        var cut = await cache.LookupAsync("m", "q", 4, allowCut: true, CancellationToken.None);
        Assert.Equal((HintCache.Match.NeedsCut, 6L), (cut!.Value.How, cut.Value.Answer.CompletionTokens));
        Assert.Null(await cache.LookupAsync("other-model", "q", 2, allowCut: true, CancellationToken.None));
    }

    [Fact]
    public async Task IsBoundedByEntriesEvictingTheLeastRecentlyUsed()
    {
        var cache = new HintCache(_path, 3, TimeSpan.FromHours(1), _clock);
        for (var i = 0; i < 5; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            await cache.StoreAsync("m", $"q{i}", new CachedAnswer("x", 1, 1, Complete: true), CancellationToken.None);
        }

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(await cache.LookupAsync("m", "q0", 1, allowCut: false, CancellationToken.None));
        await cache.PruneAsync(CancellationToken.None);

        Assert.Equal(3, await cache.CountAsync(CancellationToken.None));
        Assert.NotNull(await cache.LookupAsync("m", "q0", 1, allowCut: false, CancellationToken.None));
        Assert.Null(await cache.LookupAsync("m", "q1", 1, allowCut: false, CancellationToken.None));
        Assert.Null(await cache.LookupAsync("m", "q2", 1, allowCut: false, CancellationToken.None));
        Assert.NotNull(await cache.LookupAsync("m", "q4", 1, allowCut: false, CancellationToken.None));
    }

    [Fact]
    public async Task EntriesExpire()
    {
        var cache = new HintCache(_path, 100, TimeSpan.FromHours(1), _clock);
        await cache.StoreAsync("m", "q", new CachedAnswer("x", 1, 1, Complete: true), CancellationToken.None);

        _clock.Advance(TimeSpan.FromMinutes(59));
        Assert.NotNull(await cache.LookupAsync("m", "q", 1, allowCut: false, CancellationToken.None));
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(await cache.LookupAsync("m", "q", 1, allowCut: false, CancellationToken.None));
        await cache.PruneAsync(CancellationToken.None);
        Assert.Equal(0, await cache.CountAsync(CancellationToken.None));
    }

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
