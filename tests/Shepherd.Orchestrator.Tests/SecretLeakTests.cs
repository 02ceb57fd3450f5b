using Google.Protobuf;
using Grpc.Core;
using Shepherd.Contracts.V1;
using Shepherd.Llm;
using Shepherd.TestSupport;

namespace Shepherd.Orchestrator.Tests;

/// <summary>
/// An upstream that echoes the Authorization header in its error body: the key and the body's text reach no
/// response field, no status and no log line; the log keeps the HTTP status.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class SecretLeakTests(StackFixture stack)
{
    private static AnswerRequest Ask() => new()
    {
        Query = "A farmer has 12 cows and sells 5. How many are left?",
        Task = TaskKind.Gsm8K,
        Strategy = Strategy.Llm,
        RequestId = Guid.NewGuid().ToString("N"),
    };

    [Theory]
    [InlineData(401, false)]
    [InlineData(400, true)]
    [InlineData(403, false)]
    public async Task AnEchoedKeyReachesNeitherTheClientNorTheLogWhenTheLlmFails(int status, bool plainText)
    {
        // OnFailure = fail: the LLM's failure is the client's status, and no SLM is needed. A 4xx is a refusal:
        // FAILED_PRECONDITION (README's failure table), with the HTTP status and nothing of the body.
        var (client, _, logs) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Orchestrator:SlmAddress"] = stack.SlmAddress is { Length: > 0 } slm ? slm : "http://127.0.0.1:1",
            ["Storage:HintCacheEnabled"] = "false",
            ["Llm:OnFailure"] = "fail",
            ["Logging:LogLevel:Default"] = "Trace",
        });
        stack.Groq.Enqueue(new GroqReply(status, EchoAuthorization: true, PlainText: plainText));

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.AnswerAsync(Ask(), deadline: DateTime.UtcNow.AddSeconds(30)));

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Contains($"HTTP {status}", ex.Status.Detail);
        AssertClean(ex.Status.Detail);
        Assert.All(ex.Trailers, t => AssertClean(t.IsBinary ? Convert.ToBase64String(t.ValueBytes) + System.Text.Encoding.UTF8.GetString(t.ValueBytes) : t.Value));
        AssertLogsClean(logs, status);
    }

    [SkippableFact]
    public async Task AnEchoedKeyIsNotInTheDegradedAnswer()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, logs) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Storage:HintCacheEnabled"] = "false",
            ["Logging:LogLevel:Default"] = "Trace",
        });
        stack.Groq.Enqueue(new GroqReply(401, EchoAuthorization: true));

        var response = await client.AnswerAsync(Ask(), deadline: DateTime.UtcNow.AddSeconds(60));

        Assert.True(response.Degraded);
        Assert.Contains(response.Degradations, d => d.Contains("HTTP 401", StringComparison.Ordinal));
        AssertClean(JsonFormatter.Default.Format(response));
        AssertLogsClean(logs, 401);
    }

    [Fact]
    public void TheRedactorRemovesBearerTokensKnownKeyShapesKeyLikeTokensAndTheConfiguredKey()
    {
        var redactor = new SecretRedactor("plainpassphrase");

        var text = redactor.Redact(
            "Invalid API Key: Bearer abc.def, gsk_live_x, sk-proj-1, token 3f9a8b7c6d5e4f3a2b1c0d9e8f7a, secret plainpassphrase; model llama-3.3-70b-versatile has 128000 tokens");

        foreach (var secret in new[] { "abc.def", "gsk_live_x", "sk-proj-1", "3f9a8b7c6d5e4f3a2b1c0d9e8f7a", "plainpassphrase" })
        {
            Assert.DoesNotContain(secret, text);
        }

        Assert.Contains("Invalid API Key", text);
        Assert.Contains("llama-3.3-70b-versatile", text);
        Assert.Contains("128000", text);
        Assert.True(redactor.Redact(new string('a', 10_000)).Length <= SecretRedactor.MaxLength + 1);
    }

    private static void AssertClean(string text)
    {
        Assert.DoesNotContain(GroqStandIn.ValidKey, text);
        Assert.DoesNotContain("gsk_", text);
        Assert.DoesNotContain("Bearer", text);
        Assert.DoesNotContain("Invalid API Key", text);
        Assert.DoesNotContain("Bad request", text);
    }

    private static void AssertLogsClean(LogCapture logs, int status)
    {
        Assert.Contains(logs.Lines, l => l.Contains($"HTTP {status}", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Contains(GroqStandIn.ValidKey, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Contains("gsk_", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Contains("Bearer gsk", StringComparison.Ordinal));
    }
}
