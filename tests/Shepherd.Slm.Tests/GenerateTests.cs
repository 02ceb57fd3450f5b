using Grpc.Core;
using Shepherd.Contracts.V1;

namespace Shepherd.Slm.Tests;

[Collection(SlmCollection.Name)]
public sealed class GenerateTests(SlmServiceFixture fixture)
{
    private static GenerateRequest Request(string prompt = "Once upon a time", int maxTokens = 24, float temperature = 0.8f, ulong? seed = 42, int n = 1)
    {
        var request = new GenerateRequest { Prompt = prompt, MaxTokens = maxTokens, Temperature = temperature, N = n };
        if (seed is { } s)
        {
            request.Seed = s;
        }

        return request;
    }

    [SkippableFact]
    public async Task SameSeedGivesSameOutput()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var first = await fixture.Client.GenerateAsync(Request(seed: 7));
        var second = await fixture.Client.GenerateAsync(Request(seed: 7));
        var other = await fixture.Client.GenerateAsync(Request(seed: 8, maxTokens: 48));

        Assert.Equal(first.Completions[0].Text, second.Completions[0].Text);
        Assert.NotEmpty(first.Completions[0].Text);
        Assert.NotEqual(first.Completions[0].Text, other.Completions[0].Text);
    }

    [SkippableFact]
    public async Task ThreeSamplesAtTemperatureZeroPointEightAreNotAllIdentical()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var response = await fixture.Client.GenerateAsync(Request(n: 3, maxTokens: 32, seed: 1));

        Assert.Equal(3, response.Completions.Count);
        Assert.Equal([0, 1, 2], response.Completions.Select(c => c.Index));
        Assert.True(response.Completions.Select(c => c.Text).Distinct().Count() > 1, string.Join(" | ", response.Completions.Select(c => c.Text)));
    }

    [SkippableFact]
    public async Task EntropyIsPositiveAndFinite()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var response = await fixture.Client.GenerateAsync(Request(n: 2));

        Assert.All(response.Completions, c =>
        {
            Assert.True(double.IsFinite(c.MeanEntropy));
            Assert.True(c.MeanEntropy > 0);
            // A 512-token vocabulary cannot exceed ln(512) nats.
            Assert.True(c.MeanEntropy <= Math.Log(512) + 1e-9);
        });
    }

    [SkippableFact]
    public async Task PromptTokenCountAgreesWithCountTokens()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var hint = new Hint { Text = "the little dog", Mode = HintMode.PromptLine };
        var generate = Request(maxTokens: 4);
        generate.Hint = hint;
        var response = await fixture.Client.GenerateAsync(generate);
        var counted = await fixture.Client.CountTokensAsync(new CountTokensRequest { Prompt = generate.Prompt, Hint = hint });
        var plain = await fixture.Client.CountTokensAsync(new CountTokensRequest { Prompt = generate.Prompt });

        Assert.Equal(counted.TokenCount, response.PromptTokens);
        Assert.True(counted.TokenCount > plain.TokenCount);
    }

    [SkippableFact]
    public async Task GeneratedTokenCountMatchesTheTokensOfTheTextAtLengthLimit()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var response = await fixture.Client.GenerateAsync(Request(temperature: 0, maxTokens: 16));
        var completion = response.Completions[0];

        Assert.Equal(FinishReason.Length, completion.FinishReason);
        Assert.Equal(16, completion.GeneratedTokens);
        var retokenized = await fixture.Client.TokenizeAsync(new TokenizeRequest { Text = completion.Text });
        var detok = await fixture.Client.DetokenizeAsync(new DetokenizeRequest { TokenIds = { retokenized.TokenIds } });
        // SentencePiece prepends a word-boundary space when it tokenizes text from the start.
        Assert.Equal(completion.Text.TrimStart(), detok.Text.TrimStart());
        // SentencePiece may merge differently on re-tokenisation, but never by more than a token or two here.
        Assert.InRange(retokenized.TokenIds.Count, completion.GeneratedTokens - 2, completion.GeneratedTokens + 2);
    }

    [SkippableFact]
    public async Task ContinuationModeContinuesTheHint()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        const string prompt = "Once upon a time, there was a little girl named Lily.";
        const string hint = " She loved to play with her";
        var continued = await fixture.Client.GenerateAsync(new GenerateRequest
        {
            Prompt = prompt, Hint = new Hint { Text = hint, Mode = HintMode.Continuation }, MaxTokens = 20, Temperature = 0,
        });
        var greedyOfPrefix = await fixture.Client.GenerateAsync(new GenerateRequest { Prompt = prompt + hint, MaxTokens = 20, Temperature = 0 });
        var withoutHint = await fixture.Client.GenerateAsync(new GenerateRequest { Prompt = prompt, MaxTokens = 20, Temperature = 0 });

        Assert.Equal(greedyOfPrefix.Completions[0].Text, continued.Completions[0].Text);
        Assert.NotEqual(withoutHint.Completions[0].Text, continued.Completions[0].Text);
        Assert.DoesNotContain("Hint:", continued.Completions[0].Text);
    }

    [SkippableFact]
    public async Task PromptLineModeConditionsOnTheHint()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        const string prompt = "Once upon a time, there was a little boy.";
        var hinted = await fixture.Client.GenerateAsync(new GenerateRequest
        {
            Prompt = prompt, Hint = new Hint { Text = "The boy had a big red ball.", Mode = HintMode.PromptLine }, MaxTokens = 20, Temperature = 0,
        });
        var explicitLine = await fixture.Client.GenerateAsync(new GenerateRequest
        {
            Prompt = prompt + "\nHint: The boy had a big red ball.\n", MaxTokens = 20, Temperature = 0,
        });

        Assert.Equal(explicitLine.Completions[0].Text, hinted.Completions[0].Text);
    }

    [SkippableFact]
    public async Task ChatMessagesUseThePlainTemplateWhenTheModelHasNone()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var chat = new GenerateRequest { MaxTokens = 8, Temperature = 0 };
        chat.Messages.Add(new ChatMessage { Role = "user", Content = "Tell me a story." });
        var viaChat = await fixture.Client.GenerateAsync(chat);
        var viaPlain = await fixture.Client.GenerateAsync(new GenerateRequest { Prompt = "User: Tell me a story.\nAssistant:", MaxTokens = 8, Temperature = 0 });
        var info = await fixture.Client.InfoAsync(new SlmServiceInfoRequest());

        Assert.False(info.HasChatTemplate);
        Assert.Equal(viaPlain.Completions[0].Text, viaChat.Completions[0].Text);
        Assert.Equal(viaPlain.PromptTokens, viaChat.PromptTokens);
    }

    [SkippableFact]
    public async Task StopSequencesEndTheCompletionWithoutTheStopText()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var free = await fixture.Client.GenerateAsync(Request(temperature: 0, maxTokens: 64));
        var text = free.Completions[0].Text;
        var stop = text.Substring(text.Length / 2, 3);
        var request = Request(temperature: 0, maxTokens: 64);
        request.Stop.Add(stop);
        var stopped = await fixture.Client.GenerateAsync(request);

        Assert.Equal(FinishReason.Stop, stopped.Completions[0].FinishReason);
        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], stopped.Completions[0].Text);
    }

    [SkippableFact]
    public async Task InfoDescribesTheModel()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var info = await fixture.Client.InfoAsync(new SlmServiceInfoRequest());

        Assert.Equal(512, info.VocabSize);
        Assert.Equal(2048, info.ContextSize);
        Assert.Equal("cpu", info.Backend);
        Assert.False(string.IsNullOrEmpty(info.ModelName));
    }

    [SkippableFact]
    public async Task ResponseCarriesTimings()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var response = await fixture.Client.GenerateAsync(Request(maxTokens: 8));

        Assert.True(response.Timings.PrefillMs > 0);
        Assert.True(response.Timings.DecodeMs > 0);
        Assert.True(response.Timings.QueueMs >= 0);
    }
}
