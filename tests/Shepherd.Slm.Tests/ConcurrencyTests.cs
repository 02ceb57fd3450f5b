using Grpc.Core;
using Shepherd.Contracts.V1;

namespace Shepherd.Slm.Tests;

[Collection(SlmCollection.Name)]
public sealed class ConcurrencyTests(SlmServiceFixture fixture)
{
    [SkippableFact]
    public async Task SixteenConcurrentCallsAllComplete()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var calls = Enumerable.Range(0, 16).Select(i => fixture.Client.GenerateAsync(new GenerateRequest
        {
            Prompt = $"Once upon a time there was a cat number {i}.",
            MaxTokens = 32,
            Temperature = 0.8f,
            Seed = (ulong)i,
        }).ResponseAsync).ToArray();

        var responses = await Task.WhenAll(calls);

        Assert.All(responses, r => Assert.True(r.Completions.Single().GeneratedTokens > 0));
    }

    [SkippableFact]
    public async Task BatchedGreedyOutputEqualsTheSameRequestAlone()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var request = new GenerateRequest { Prompt = "Once upon a time, a bird", MaxTokens = 24, Temperature = 0 };
        var alone = await fixture.Client.GenerateAsync(request);
        var together = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => fixture.Client.GenerateAsync(request).ResponseAsync));

        Assert.All(together, r => Assert.Equal(alone.Completions[0].Text, r.Completions[0].Text));
    }

    [SkippableFact]
    public async Task ForkedGreedySamplesAreIdentical()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var response = await fixture.Client.GenerateAsync(new GenerateRequest { Prompt = "Once upon a time", MaxTokens = 24, Temperature = 0, N = 3 });
        var single = await fixture.Client.GenerateAsync(new GenerateRequest { Prompt = "Once upon a time", MaxTokens = 24, Temperature = 0 });

        Assert.All(response.Completions, c => Assert.Equal(single.Completions[0].Text, c.Text));
    }

    [SkippableFact]
    public async Task StreamDeltasConcatenateToTheFinalText()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var request = new GenerateRequest { Prompt = "Once upon a time", MaxTokens = 40, Temperature = 0.8f, Seed = 3, N = 2 };
        request.Stop.Add("zzz");
        using var call = fixture.Client.GenerateStream(new GenerateStreamRequest { Request = request });
        var texts = new Dictionary<int, string> { [0] = "", [1] = "" };
        GenerateResponse? done = null;
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            if (message.EventCase == GenerateStreamResponse.EventOneofCase.Delta)
            {
                texts[message.Delta.Index] += message.Delta.Text;
            }
            else
            {
                done = message.Done;
            }
        }

        Assert.NotNull(done);
        Assert.Equal(done.Completions[0].Text, texts[0]);
        Assert.Equal(done.Completions[1].Text, texts[1]);
        var unary = await fixture.Client.GenerateAsync(request);
        Assert.Equal(unary.Completions.Select(c => c.Text), done.Completions.Select(c => c.Text));
    }
}

/// <summary>A service with one sequence slot and a one-request queue, to exercise back-pressure.</summary>
public sealed class TinySlmFixture : SlmServiceFixture
{
    public TinySlmFixture()
        : base(maxSequences: 1, maxQueue: 1)
    {
    }
}

public sealed class BackPressureTests(TinySlmFixture fixture) : IClassFixture<TinySlmFixture>
{
    private static GenerateRequest Long() => new()
    {
        Prompt = "Once upon a time", MaxTokens = 4096, Temperature = 1.5f, TopP = 1f, Seed = 9,
    };

    [SkippableFact]
    public async Task AFullQueueAnswersResourceExhaustedAtOnce()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var calls = Enumerable.Range(0, 12).Select(_ => fixture.Client.GenerateAsync(Long()).ResponseAsync).ToArray();
        var refusals = new System.Collections.Concurrent.ConcurrentBag<RpcException>();
        var outcomes = await Task.WhenAll(calls.Select(async c =>
        {
            try
            {
                await c;
                return StatusCode.OK;
            }
            catch (RpcException ex)
            {
                if (ex.StatusCode == StatusCode.ResourceExhausted)
                {
                    refusals.Add(ex);
                }

                return ex.StatusCode;
            }
        }));

        Assert.Contains(StatusCode.ResourceExhausted, outcomes);
        // Every refusal says when to come back: a google.rpc.RetryInfo detail and a retry-after trailer.
        Assert.All(refusals, r =>
        {
            var retry = r.GetRpcStatus()!.GetDetail<Google.Rpc.RetryInfo>();
            Assert.NotNull(retry);
            Assert.InRange(retry.RetryDelay.Seconds, 1, 30);
            Assert.Equal(retry.RetryDelay.Seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), r.Trailers.GetValue("retry-after"));
        });
        Assert.Contains(StatusCode.OK, outcomes);
        Assert.All(outcomes, o => Assert.True(o is StatusCode.OK or StatusCode.ResourceExhausted, o.ToString()));
    }

    [SkippableFact]
    public async Task ACancelledStreamFreesItsSlot()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        using (var cts = new CancellationTokenSource())
        {
            using var call = fixture.Client.GenerateStream(new GenerateStreamRequest { Request = Long() }, cancellationToken: cts.Token);
            Assert.True(await call.ResponseStream.MoveNext());
            var busy = await fixture.Client.InfoAsync(new SlmServiceInfoRequest());
            Assert.Equal(1, busy.ActiveRequests);
            cts.Cancel();
        }

        await WaitForIdle();
        var after = await fixture.Client.GenerateAsync(new GenerateRequest { Prompt = "Once upon a time", MaxTokens = 8 });
        Assert.Single(after.Completions);
    }

    [SkippableFact]
    public async Task APassedDeadlineFreesItsSlot()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Client.GenerateAsync(Long(), deadline: DateTime.UtcNow.AddMilliseconds(30)));

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        await WaitForIdle();
        var after = await fixture.Client.GenerateAsync(new GenerateRequest { Prompt = "Once upon a time", MaxTokens = 8 });
        Assert.Single(after.Completions);
    }

    private async Task WaitForIdle()
    {
        // Bounded poll: the decode loop notices cancellation within one decode step.
        for (var i = 0; i < 100; i++)
        {
            var info = await fixture.Client.InfoAsync(new SlmServiceInfoRequest());
            if (info.ActiveRequests == 0 && info.QueuedRequests == 0)
            {
                return;
            }

            await Task.Delay(20);
        }

        Assert.Fail("the cancelled request still holds its slot after 2 s");
    }
}
