using Google.Protobuf;
using Grpc.Core;
using Shepherd.Contracts.V1;

namespace Shepherd.Slm.Tests;

[Collection(SlmCollection.Name)]
public sealed class BadInputTests(SlmServiceFixture fixture)
{
    public static TheoryData<string, GenerateRequest, string> InvalidRequests() => new()
    {
        { "empty prompt", new GenerateRequest(), "prompt" },
        { "whitespace prompt", new GenerateRequest { Prompt = "   \n" }, "prompt" },
        { "prompt and messages", WithMessage(new GenerateRequest { Prompt = "x" }, "user", "y"), "prompt" },
        { "unknown role", WithMessage(new GenerateRequest(), "wizard", "y"), "messages[0].role" },
        { "empty message", WithMessage(new GenerateRequest(), "user", ""), "messages[0].content" },
        { "n zero is fine but 17 is not", new GenerateRequest { Prompt = "x", N = 17 }, "n" },
        { "negative n", new GenerateRequest { Prompt = "x", N = -1 }, "n" },
        { "max_tokens too large", new GenerateRequest { Prompt = "x", MaxTokens = 4097 }, "max_tokens" },
        { "negative max_tokens", new GenerateRequest { Prompt = "x", MaxTokens = -5 }, "max_tokens" },
        { "temperature above 2", new GenerateRequest { Prompt = "x", Temperature = 2.5f }, "temperature" },
        { "negative temperature", new GenerateRequest { Prompt = "x", Temperature = -0.1f }, "temperature" },
        { "NaN temperature", new GenerateRequest { Prompt = "x", Temperature = float.NaN }, "temperature" },
        { "top_p zero", new GenerateRequest { Prompt = "x", TopP = 0f }, "top_p" },
        { "top_p above 1", new GenerateRequest { Prompt = "x", TopP = 1.5f }, "top_p" },
        { "unknown hint mode", new GenerateRequest { Prompt = "x", Hint = new Hint { Text = "h", Mode = (HintMode)42 } }, "hint.mode" },
        { "too many stops", WithStops(new GenerateRequest { Prompt = "x" }, 9), "stop" },
        { "empty stop", WithStops(new GenerateRequest { Prompt = "x" }, 1, ""), "stop[0]" },
        // No lone-surrogate row: protobuf's writer sends one as U+FFFD, a valid character the service accepts.
        { "prompt longer than the context", new GenerateRequest { Prompt = string.Join(' ', Enumerable.Repeat("once upon a time", 800)) }, "prompt" },
        { "hint pushes prompt past the context", new GenerateRequest { Prompt = "Once upon a time", Hint = new Hint { Text = string.Join(' ', Enumerable.Repeat("the dog ran", 1000)) } }, "hint.text" },
        { "oversized input", new GenerateRequest { Prompt = new string('a', 200_001) }, "prompt" },
    };

    [SkippableTheory]
    [MemberData(nameof(InvalidRequests))]
    public async Task InvalidRequestsGetInvalidArgumentNamingTheField(string because, GenerateRequest request, string field)
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Client.GenerateAsync(request));

        Assert.True(ex.StatusCode == StatusCode.InvalidArgument, $"{because}: {ex.Status}");
        Assert.StartsWith(field + ":", ex.Status.Detail);
    }

    [SkippableFact]
    public async Task StreamingRejectsBadInputWithTheSameStatus()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        using var call = fixture.Client.GenerateStream(new GenerateStreamRequest { Request = new GenerateRequest { Prompt = "x", TopP = 3 } });
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext());

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
    }

    [SkippableFact]
    public async Task InvalidUtf8BytesGetInvalidArgument()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        // Field 1 (prompt), length 4: "ab" followed by bytes that are not UTF-8.
        byte[] raw = [0x0A, 0x04, (byte)'a', (byte)'b', 0xFF, 0xFE];
        var method = new Method<byte[], GenerateResponse>(
            MethodType.Unary, "shepherd.v1.SlmService", "Generate",
            Marshallers.Create(b => b, b => b),
            Marshallers.Create(r => r.ToByteArray(), GenerateResponse.Parser.ParseFrom));
        var invoker = fixture.Channel!.CreateCallInvoker();

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await invoker.AsyncUnaryCall(method, null, new CallOptions(), raw));

        Assert.True(ex.StatusCode == StatusCode.InvalidArgument, ex.Status.ToString());
        Assert.Contains("UTF-8", ex.Status.Detail);
    }

    [SkippableFact]
    public async Task BadInputDoesNotHurtTheService()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        foreach (var row in InvalidRequests())
        {
            var request = (GenerateRequest)row[1];
            await Assert.ThrowsAsync<RpcException>(async () => await fixture.Client.GenerateAsync(request));
        }

        var ok = await fixture.Client.GenerateAsync(new GenerateRequest { Prompt = "Once upon a time", MaxTokens = 4 });
        Assert.Single(ok.Completions);
    }

    [SkippableFact]
    public async Task DetokenizeRejectsTokensOutsideTheVocabulary()
    {
        Skip.If(SlmServiceFixture.ModelPath is null, SlmServiceFixture.MissingModelReason);

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Client.DetokenizeAsync(new DetokenizeRequest { TokenIds = { 5, 100000 } }));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith("token_ids[1]:", ex.Status.Detail);
    }

    private static GenerateRequest WithMessage(GenerateRequest request, string role, string content)
    {
        request.Messages.Add(new ChatMessage { Role = role, Content = content });
        return request;
    }

    private static GenerateRequest WithStops(GenerateRequest request, int count, string stop = "x")
    {
        for (var i = 0; i < count; i++)
        {
            request.Stop.Add(stop);
        }

        return request;
    }
}
