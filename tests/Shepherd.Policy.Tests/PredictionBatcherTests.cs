using Microsoft.Extensions.Logging.Abstractions;
using Shepherd.Core.Errors;
using Shepherd.Policy.Batching;
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
        // A window of an hour: a lone caller that waited for company would not be answered on return.
        await using var batcher = new PredictionBatcher(predictor, maxBatchSize: 32, TimeSpan.FromHours(1), capacity: 100, NullLogger.Instance);

        for (var i = 0; i < 3; i++)
        {
            var call = batcher.PredictAsync(new PolicyQuery("What is 2 + 2?"), CancellationToken.None);
            Assert.True(call.IsCompletedSuccessfully, "a lone caller must not wait for company");
            await call;
        }

        Assert.Equal(3, batcher.Runs);
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
