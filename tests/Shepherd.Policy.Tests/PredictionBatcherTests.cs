using Microsoft.Extensions.Logging.Abstractions;
using Shepherd.Core.Errors;
using Shepherd.Policy.Batching;
using Shepherd.Policy.Model.Encoding;
using Shepherd.Policy.Model.Prediction;

namespace Shepherd.Policy.Tests;

[Collection(PolicyCollection.Name)]
public sealed class PredictionBatcherTests(PolicyFixture fixture)
{
    [Fact]
    public async Task ConcurrentCallsShareEncoderRunsAndKeepTheirOwnAnswers()
    {
        // A real, uncached encoder: runs must take long enough for calls to overlap.
        using var predictor = PolicyPredictor.Load(fixture.ProactiveBundle);
        await using var batcher = new PredictionBatcher(predictor, maxBatchSize: 32, TimeSpan.FromMilliseconds(2), capacity: 100, NullLogger.Instance);
        var queries = fixture.ProactiveLabels.Skip(100).Take(24).Select(l => new PolicyQuery(l.Query)).ToArray();
        var expected = predictor.Predict(queries);

        var answers = await Task.WhenAll(queries.Select(q => Task.Run(() => batcher.PredictAsync(q, CancellationToken.None))));

        for (var i = 0; i < queries.Length; i++)
        {
            Assert.Equal(expected[i].HintLogit, answers[i].HintLogit, tolerance: 1e-5);
        }

        Assert.Equal(queries.Length, batcher.Calls);
        Assert.True(batcher.Runs < queries.Length, $"{batcher.Runs} encoder runs for {queries.Length} concurrent calls");
    }

    [Fact]
    public async Task LoneCallerRunsAtOnce()
    {
        using var predictor = PolicyPredictor.Load(fixture.ProactiveBundle, fixture.Encoder);
        // A window of an hour: a lone caller that waited for company would not be answered within the minute.
        await using var batcher = new PredictionBatcher(predictor, maxBatchSize: 32, TimeSpan.FromHours(1), capacity: 100, NullLogger.Instance);

        for (var i = 0; i < 3; i++)
        {
            await batcher.PredictAsync(new PolicyQuery("What is 2 + 2?"), CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));
        }

        Assert.Equal(3, batcher.Runs);
    }

    [Fact]
    public async Task EncoderRunsNeverBlockThreadPoolThreads()
    {
        // Encoder runs block the thread that makes them; made on thread-pool threads (Kestrel's handlers) they starved
        // the pool on two cores. Every run, single or chunk, must happen on the batcher's own thread.
        var encoder = new ThreadRecordingEncoder(fixture.Encoder);
        using var predictor = PolicyPredictor.Load(fixture.ProactiveBundle, encoder);
        await using var batcher = new PredictionBatcher(predictor, maxBatchSize: 4, TimeSpan.FromMilliseconds(2), capacity: 100, NullLogger.Instance);
        var queries = fixture.ProactiveLabels.Take(12).Select(l => new PolicyQuery(l.Query)).ToArray();

        var singles = Task.WhenAll(queries.Select(q => Task.Run(() => batcher.PredictAsync(q, CancellationToken.None))));
        var chunk = Task.Run(() => batcher.PredictChunkAsync(queries, CancellationToken.None));
        await Task.WhenAll(singles, chunk);

        using var direct = PolicyPredictor.Load(fixture.ProactiveBundle, fixture.Encoder);
        Assert.Equal(direct.Predict(queries).Select(p => p.HintTokens), (await chunk).Select(p => p.HintTokens));
        Assert.NotEmpty(encoder.Threads);
        Assert.All(encoder.Threads, t => Assert.False(t.IsThreadPoolThread, $"an encoder run on thread-pool thread '{t.Name}'"));
        Assert.Single(encoder.Threads.Select(t => t.Name).Distinct());
    }

    [Fact]
    public async Task QueueBeyondCapacityIsRefusedAndNothingIsLost()
    {
        var gate = new ManualResetEventSlim(false);
        var encoder = new ThreadRecordingEncoder(fixture.Encoder, gate);
        using var predictor = PolicyPredictor.Load(fixture.ProactiveBundle, encoder);
        await using var batcher = new PredictionBatcher(predictor, maxBatchSize: 1, TimeSpan.Zero, capacity: 2, NullLogger.Instance);

        // The first call holds the inference thread at the gate; two more fill the queue; a fourth is refused.
        var first = batcher.PredictAsync(new PolicyQuery("one"), CancellationToken.None);
        await WaitUntil(() => encoder.Started > 0);
        var queued = new[] { batcher.PredictAsync(new PolicyQuery("two"), CancellationToken.None), batcher.PredictAsync(new PolicyQuery("three"), CancellationToken.None) };
        await Assert.ThrowsAsync<CapacityExceededException>(() => batcher.PredictAsync(new PolicyQuery("four"), CancellationToken.None));

        gate.Set();
        await Task.WhenAll(queued.Append(first)).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(3, batcher.Calls);
    }

    [Fact]
    public async Task CancelledCallsLeaveTheQueueAndDisposeCancelsTheRest()
    {
        var gate = new ManualResetEventSlim(false);
        var encoder = new ThreadRecordingEncoder(fixture.Encoder, gate);
        using var predictor = PolicyPredictor.Load(fixture.ProactiveBundle, encoder);
        var batcher = new PredictionBatcher(predictor, maxBatchSize: 1, TimeSpan.Zero, capacity: 10, NullLogger.Instance);

        var first = batcher.PredictAsync(new PolicyQuery("one"), CancellationToken.None);
        await WaitUntil(() => encoder.Started > 0);
        using var cancel = new CancellationTokenSource();
        var cancelled = batcher.PredictAsync(new PolicyQuery("two"), cancel.Token);
        var waiting = batcher.PredictChunkAsync([new PolicyQuery("three")], CancellationToken.None);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);

        gate.Set();
        await first.WaitAsync(TimeSpan.FromMinutes(1));
        await waiting.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(2, encoder.Started);
        await batcher.DisposeAsync();
        await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(() => batcher.PredictAsync(new PolicyQuery("late"), CancellationToken.None));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(5);
        }
    }

    /// <summary>The real encoder, recording the thread of every run and optionally holding runs at a gate.</summary>
    private sealed class ThreadRecordingEncoder(ITextEncoder inner, ManualResetEventSlim? gate = null) : ITextEncoder
    {
        private int _started;

        public System.Collections.Concurrent.ConcurrentBag<Thread> Threads { get; } = [];

        public int Started => Volatile.Read(ref _started);

        public EncoderSpec Spec => inner.Spec;

        public int Dimension => inner.Dimension;

        public int CountTokens(string text) => inner.CountTokens(text);

        public EncodedBatch Encode(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
        {
            Threads.Add(Thread.CurrentThread);
            Interlocked.Increment(ref _started);
            gate?.Wait(cancellationToken);
            return inner.Encode(texts, cancellationToken);
        }

        public void Dispose()
        {
        }
    }

    [Fact]
    public async Task BadCallFailsAloneBeforeQueueing()
    {
        using var predictor = PolicyPredictor.Load(fixture.ProactiveBundle, fixture.Encoder);
        await using var batcher = new PredictionBatcher(predictor, maxBatchSize: 32, TimeSpan.FromMilliseconds(2), capacity: 100, NullLogger.Instance);

        var ex = await Assert.ThrowsAsync<InvalidRequestException>(() => batcher.PredictAsync(new PolicyQuery("q", Alpha: 3), CancellationToken.None));

        Assert.Equal("alpha", ex.Field);
        Assert.Equal(0, batcher.Calls);
    }
}
