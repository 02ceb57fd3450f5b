using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Shepherd.Contracts.V1;
using Shepherd.Slm.Inference;
using Xunit.Abstractions;

namespace Shepherd.Slm.Tests;

/// <summary>
/// A service of its own with few slots and a short queue, so bursts overflow it and its state is this class's alone.
/// A 512-token context and 64-token steps keep it quick while every long prompt still spans many steps, which is what
/// used to wedge the loop (each token of a unified KV cache attends over every cell in use, so a full 2,048-token
/// context per sequence costs the toy model far more than the scheduling under test needs).
/// </summary>
public sealed class StressFixture : SlmServiceFixture
{
    public StressFixture()
        : base(maxSequences: 8, maxQueue: 12, contextSize: 512, batchTokens: 64)
    {
    }
}

/// <summary>
/// What users do to the slm-service at once: long prompts near the context beside short ones, n from 1 to 8, streams
/// cancelled midway, deadlines that expire in the queue. Whatever the mix, every call ends with a defined status, the
/// service keeps serving, and nothing leaks.
/// </summary>
public sealed class StressTests(StressFixture fixture, ITestOutputHelper output) : IClassFixture<StressFixture>
{
    private static readonly StatusCode[] Allowed =
        [StatusCode.OK, StatusCode.ResourceExhausted, StatusCode.DeadlineExceeded, StatusCode.Cancelled];

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task MixedBurstsEndInDefinedStatusesAndLeaveTheServiceServingWithNothingLeaked(int seed)
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);
        var client = fixture.Client;
        var longPrompt = await LongPromptAsync(client, maxTokens: 48);
        var rng = new Random(seed);

        var statuses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => OneCallAsync(client, longPrompt, rng.Next(), i)));

        var unexpected = statuses.Where(s => !Allowed.Contains(s)).ToArray();
        Assert.True(unexpected.Length == 0, $"unexpected statuses: {string.Join(", ", unexpected)}; all: {Counts(statuses)}");
        Assert.Contains(StatusCode.OK, statuses);
        await AssertIdleHealthyAndServingAsync(client);
    }

    [SkippableFact]
    public async Task EightConcurrentLongPromptsAllComplete()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);
        var client = fixture.Client;
        var longPrompt = await LongPromptAsync(client, maxTokens: 16);

        // The shape that wedged the loop for good: several long prefills at once, each more than a step holds.
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => client.GenerateAsync(
            new GenerateRequest { Prompt = longPrompt, MaxTokens = 16, Temperature = 0.5f, Seed = (ulong)i }).ResponseAsync));

        foreach (var r in responses)
        {
            output.WriteLine($"prompt {r.PromptTokens} tokens: queue {r.Timings.QueueMs:F0} ms, prefill {r.Timings.PrefillMs:F0} ms, decode {r.Timings.DecodeMs:F0} ms");
        }

        Assert.All(responses, r => Assert.InRange(r.Completions.Single().GeneratedTokens, 1, 16));
        var info = await client.InfoAsync(new SlmServiceInfoRequest());
        Assert.True(responses[0].PromptTokens > info.BatchTokens, $"the long prompt ({responses[0].PromptTokens} tokens) must exceed one step ({info.BatchTokens})");
        await AssertIdleHealthyAndServingAsync(client);
    }

    [SkippableFact]
    public async Task ARequestWhoseDeadlinePassesInTheQueueLeavesItAtOnce()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);
        var client = fixture.Client;
        using var stop = new CancellationTokenSource();
        // One request holds all eight sequences until the test ends it: eight hot samples of up to 480 tokens each,
        // of which at least one runs on for far longer than the deadline below.
        var blocker = client.GenerateStream(
            new GenerateStreamRequest { Request = new GenerateRequest { Prompt = "Once upon a time", MaxTokens = 480, N = 8, Temperature = 1.5f, TopP = 1, Seed = 1 } },
            cancellationToken: stop.Token);
        Assert.True(await blocker.ResponseStream.MoveNext(stop.Token));

        var waiting = client.GenerateAsync(new GenerateRequest { Prompt = "Once upon a time", MaxTokens = 4 }, deadline: DateTime.UtcNow.AddMilliseconds(20));
        var error = await Assert.ThrowsAsync<RpcException>(() => waiting.ResponseAsync);
        var info = await client.InfoAsync(new SlmServiceInfoRequest());
        stop.Cancel();
        blocker.Dispose();

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Equal(0, info.QueuedRequests);
        Assert.Equal(1, info.ActiveRequests);
        await AssertIdleHealthyAndServingAsync(client);
    }

    [SkippableFact]
    public async Task ARequestThatFailsToDecodeFailsAloneAndTheOthersFinish()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);
        var client = fixture.Client;
        var engine = fixture.Services!.GetRequiredService<GenerationEngine>();
        const ulong PoisonSeed = 0xBAD;
        engine.FaultInjector = spec => spec?.Seed == PoisonSeed;
        var before = (await client.InfoAsync(new SlmServiceInfoRequest())).DecodeFailures;
        try
        {
            var good = Enumerable.Range(0, 5).Select(i => client.GenerateAsync(
                new GenerateRequest { Prompt = $"Once upon a time there was a dog number {i}.", MaxTokens = 24, Seed = (ulong)i, N = 1 }).ResponseAsync).ToArray();
            var poisoned = client.GenerateAsync(new GenerateRequest { Prompt = "Once upon a time", MaxTokens = 24, Seed = PoisonSeed, N = 2 }).ResponseAsync;

            var error = await Assert.ThrowsAsync<RpcException>(() => poisoned);
            var answers = await Task.WhenAll(good);

            Assert.Equal(StatusCode.Unavailable, error.StatusCode);
            Assert.All(answers, a => Assert.InRange(a.Completions.Single().GeneratedTokens, 1, 24));
            Assert.True((await client.InfoAsync(new SlmServiceInfoRequest())).DecodeFailures > before);
        }
        finally
        {
            engine.FaultInjector = null;
        }

        await AssertIdleHealthyAndServingAsync(client);
    }

    private static async Task<StatusCode> OneCallAsync(SlmService.SlmServiceClient client, string longPrompt, int draw, int i)
    {
        var rng = new Random(draw);
        var n = rng.Next(1, 9);
        var kind = rng.Next(4);
        var request = new GenerateRequest
        {
            Prompt = kind == 1 ? $"Short story {i}: once upon a time" : longPrompt,
            MaxTokens = rng.Next(4, 48),
            N = n,
            Temperature = (float)rng.NextDouble(),
            Seed = (ulong)draw,
        };
        try
        {
            switch (kind)
            {
                case 2:
                    // A stream its caller abandons midway.
                    using (var cts = new CancellationTokenSource())
                    using (var call = client.GenerateStream(new GenerateStreamRequest { Request = request }, cancellationToken: cts.Token))
                    {
                        var stopAfter = rng.Next(1, 6);
                        for (var read = 0; read < stopAfter && await call.ResponseStream.MoveNext(cts.Token); read++)
                        {
                        }

                        await cts.CancelAsync();
                        return StatusCode.Cancelled;
                    }

                case 3:
                    // A deadline that may well expire while the request waits in the queue.
                    await client.GenerateAsync(request, deadline: DateTime.UtcNow.AddMilliseconds(rng.Next(5, 400)));
                    return StatusCode.OK;
                default:
                    await client.GenerateAsync(request);
                    return StatusCode.OK;
            }
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }

    private static async Task<string> LongPromptAsync(SlmService.SlmServiceClient client, int maxTokens)
    {
        var info = await client.InfoAsync(new SlmServiceInfoRequest());
        var sentence = "Once upon a time there was a little cat who liked to play in the garden. ";
        var prompt = "";
        // Grow the prompt to within a few sentences of the context, leaving room for the generation.
        while (true)
        {
            var next = prompt + sentence;
            var tokens = (await client.CountTokensAsync(new CountTokensRequest { Prompt = next })).TokenCount;
            if (tokens + maxTokens + 20 >= info.ContextSize)
            {
                return prompt;
            }

            prompt = next;
            sentence = tokens < info.ContextSize / 2 ? sentence + sentence : "Once upon a time there was a little cat who liked to play in the garden. ";
        }
    }

    private async Task AssertIdleHealthyAndServingAsync(SlmService.SlmServiceClient client)
    {
        // Cancelled calls are cleaned up by the loop's next step; give it a bounded moment.
        SlmServiceInfoResponse info;
        var polls = 0;
        do
        {
            info = await client.InfoAsync(new SlmServiceInfoRequest());
            if (info.ActiveRequests == 0 && info.QueuedRequests == 0)
            {
                break;
            }

            await Task.Delay(50);
        }
        while (++polls < 600);

        Assert.Equal(0, info.ActiveRequests);
        Assert.Equal(0, info.QueuedRequests);
        Assert.Equal(0, info.ActiveSequences);
        Assert.Equal(0, info.ReservedKvCells);
        var small = await client.GenerateAsync(new GenerateRequest { Prompt = "Once", MaxTokens = 5, Temperature = 0 });
        Assert.Equal(5, small.Completions.Single().GeneratedTokens);
        var health = await new Health.HealthClient(fixture.Channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }

    private static string Counts(IEnumerable<StatusCode> statuses) =>
        string.Join(", ", statuses.GroupBy(s => s).Select(g => $"{g.Key}={g.Count()}"));
}
