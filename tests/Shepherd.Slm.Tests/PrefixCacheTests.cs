using Shepherd.Contracts.V1;

namespace Shepherd.Slm.Tests;

/// <summary>The service with the prefix cache on (4 entries); the collection's default fixture has it off.</summary>
public sealed class PrefixCachedFixture : SlmServiceFixture
{
    public PrefixCachedFixture()
        : base(maxSequences: 4, maxQueue: 32, prefixCacheEntries: 4)
    {
    }
}

/// <summary>
/// Prompts that start alike (a few-shot prefix, a question asked again with a hint) reuse a cached prefill: the
/// output is what a full prefill gives, and the hit shows in Info. Each test gets its own cached service (xUnit
/// builds the class once per test): entries left by another test would change what is reused, and xUnit's order
/// varies.
/// </summary>
[Collection(SlmCollection.Name)]
public sealed class PrefixCacheTests(SlmServiceFixture uncached) : IAsyncLifetime
{
    private readonly PrefixCachedFixture _cached = new();

    private static readonly string Prefix = string.Concat(Enumerable.Repeat("Once upon a time, there was a little girl named Lily. She loved to play outside. ", 8));

    private static GenerateRequest Greedy(string suffix, int n = 1) => new() { Prompt = Prefix + suffix, MaxTokens = 24, Temperature = 0, N = n };

    public Task InitializeAsync() => _cached.InitializeAsync();

    public Task DisposeAsync() => _cached.DisposeAsync();

    [SkippableFact]
    public async Task APromptSharingACachedPrefixPrefillsOnlyTheRestAndAnswersAlike()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        await _cached.Client.GenerateAsync(Greedy("One day, Lily saw a big dog."));
        var hitsBefore = (await _cached.Client.InfoAsync(new SlmServiceInfoRequest())).PrefixCacheHits;
        var reused = await _cached.Client.GenerateAsync(Greedy("One day, Lily found a red ball.", n: 2));
        var hitsAfter = (await _cached.Client.InfoAsync(new SlmServiceInfoRequest())).PrefixCacheHits;
        var fresh = await uncached.Client.GenerateAsync(Greedy("One day, Lily found a red ball.", n: 2));

        Assert.Equal(hitsBefore + 1, hitsAfter);
        Assert.Equal(fresh.PromptTokens, reused.PromptTokens);
        Assert.Equal(fresh.Completions.Select(c => c.Text), reused.Completions.Select(c => c.Text));
        Assert.Equal(fresh.Completions.Select(c => c.GeneratedTokens), reused.Completions.Select(c => c.GeneratedTokens));
        Assert.Equal(0, (await uncached.Client.InfoAsync(new SlmServiceInfoRequest())).PrefixCacheHits);
    }

    [SkippableFact]
    public async Task TheSamePromptAgainReusesAllButItsLastToken()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var first = await _cached.Client.GenerateAsync(Greedy("The sun was shining."));
        var second = await _cached.Client.GenerateAsync(Greedy("The sun was shining."));
        var fresh = await uncached.Client.GenerateAsync(Greedy("The sun was shining."));

        Assert.Equal(fresh.Completions[0].Text, first.Completions[0].Text);
        Assert.Equal(fresh.Completions[0].Text, second.Completions[0].Text);
        // A one-token prefill runs other kernels than a full one, so logits agree to float rounding, not bit for bit:
        // a tolerance, not rounding (1.3253 and 1.3247 round to different hundredths).
        Assert.Equal(fresh.Completions[0].MeanEntropy, second.Completions[0].MeanEntropy, tolerance: 1e-2);
    }

    [SkippableFact]
    public async Task ManyDifferentPromptsEvictOldEntriesAndStillAnswer()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            _cached.Client.GenerateAsync(new GenerateRequest { Prompt = $"Story number {i}: " + Prefix, MaxTokens = 8, Temperature = 0 }).ResponseAsync));

        Assert.All(answers, a => Assert.Equal(8, a.Completions[0].GeneratedTokens));
    }
}
