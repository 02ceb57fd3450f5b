using Grpc.Core;
using Shepherd.Contracts.V1;

namespace Shepherd.Orchestrator.Tests;

[Collection(StackCollection.Name)]
public sealed class BadRequestTests(StackFixture stack)
{
    public static TheoryData<string, AnswerRequest, string> BadRequests() => new()
    {
        { "empty query", new AnswerRequest { Query = "" }, "query" },
        { "blank query", new AnswerRequest { Query = "  \n " }, "query" },
        { "oversized query", new AnswerRequest { Query = new string('x', 20_001) }, "query" },
        { "unknown strategy", new AnswerRequest { Query = "q", Strategy = (Strategy)99 }, "strategy" },
        { "unknown task", new AnswerRequest { Query = "q", Task = (TaskKind)42 }, "task" },
        { "alpha above 1", new AnswerRequest { Query = "q", Alpha = 1.5 }, "alpha" },
        { "negative alpha", new AnswerRequest { Query = "q", Alpha = -0.1 }, "alpha" },
        { "NaN alpha", new AnswerRequest { Query = "q", Alpha = double.NaN }, "alpha" },
        { "negative eta", new AnswerRequest { Query = "q", EtaHint = -1 }, "eta_hint" },
        { "K below k", new AnswerRequest { Query = "q", Samples = 2, Agree = 3 }, "agree" },
        { "K zero", new AnswerRequest { Query = "q", Samples = 0 }, "samples" },
        { "K too large", new AnswerRequest { Query = "q", Samples = 17 }, "samples" },
        { "hint bound zero", new AnswerRequest { Query = "q", MaxHintTokens = 0 }, "max_hint_tokens" },
        { "negative budget", new AnswerRequest { Query = "q", BudgetUsd = -1 }, "budget_usd" },
        // A lone surrogate cannot cross the wire (protobuf's writer encodes it as U+FFFD, a valid character that
        // is accepted); invalid UTF-8 bytes are refused naming the field (Shepherd.EndToEnd.Tests ProtocolTests).
        { "oversized task_context", new AnswerRequest { Query = "x", Task = TaskKind.Mbpp, TaskContext = new string('a', 20_001) }, "task_context" },
    };

    [SkippableTheory]
    [MemberData(nameof(BadRequests))]
    public async Task BadRequestsGetInvalidArgumentNamingTheField(string because, AnswerRequest request, string field)
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync();
        var before = stack.Groq.RequestCount;

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.AnswerAsync(request));

        Assert.True(ex.StatusCode == StatusCode.InvalidArgument, $"{because}: {ex.Status}");
        Assert.StartsWith(field + ":", ex.Status.Detail);
        Assert.Equal(before, stack.Groq.RequestCount);
    }

    [SkippableFact]
    public async Task ABudgetTooSmallForTheLlmKeepsTheAnswerLocal()
    {
        Skip.IfNot(StackFixture.HasModel, StackFixture.MissingModelReason);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?> { ["Storage:HintCacheEnabled"] = "false" });
        var before = stack.Groq.RequestCount;

        var response = await client.AnswerAsync(new AnswerRequest { Query = "What is 2 + 2?", Task = TaskKind.Gsm8K, Strategy = Strategy.Llm, BudgetUsd = 1e-9 });

        Assert.True(response.Degraded);
        Assert.Contains(response.Degradations, d => d.Contains("budget", StringComparison.Ordinal));
        Assert.Equal(before, stack.Groq.RequestCount);
        Assert.Equal(0, response.Cost.TotalUsd);
    }
}
