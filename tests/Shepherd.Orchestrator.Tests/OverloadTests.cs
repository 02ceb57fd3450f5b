using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shepherd.Contracts.V1;
using Status = Grpc.Core.Status;

namespace Shepherd.Orchestrator.Tests;

/// <summary>
/// An slm-service that refuses for load, as a real gRPC server on 127.0.0.1: the client sees RESOURCE_EXHAUSTED with
/// retry advice, and a stand-in LLM at the same address is not asked again. Downstream calls carry the caller's deadline.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class OverloadTests(StackFixture stack)
{
    private static AnswerRequest Ask(Strategy strategy) => new()
    {
        Query = "A farmer has 12 cows and sells 5. How many are left?",
        Task = TaskKind.Gsm8K,
        Strategy = strategy,
        RequestId = Guid.NewGuid().ToString("N"),
    };

    [Theory]
    [InlineData(Strategy.Slm)]
    [InlineData(Strategy.Llm)]
    [InlineData(Strategy.Reactive)]
    [InlineData(Strategy.Proactive)]
    [InlineData(Strategy.Route)]
    [InlineData(Strategy.CascadeAbc)]
    [InlineData(Strategy.CascadeScorer)]
    public async Task AFullSlmQueueIsResourceExhaustedWithRetryAdviceAndTheStandInAtItsAddressIsNotAskedAgain(Strategy strategy)
    {
        await using var slm = await RefusingSlm.StartAsync(RefusingSlm.Mode.Refuse);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Orchestrator:SlmAddress"] = slm.Address,
            ["Orchestrator:PolicyAddress"] = "",
            ["Orchestrator:OverloadRetryAfterSeconds"] = "3",
            ["Llm:ApiKeyFile"] = "",
            ["Llm:StandInAddress"] = "",
        });

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.AnswerAsync(Ask(strategy), deadline: DateTime.UtcNow.AddSeconds(30)));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("retry after 3 s", ex.Status.Detail);
        Assert.Equal(TimeSpan.FromSeconds(3), ex.GetRpcStatus()!.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan());
        Assert.Equal("3", ex.Trailers.GetValue("retry-after"));
        Assert.Equal(1, slm.Calls);
    }

    [Fact]
    public async Task TheSlmsOwnRetryAdviceIsPassedOn()
    {
        await using var slm = await RefusingSlm.StartAsync(RefusingSlm.Mode.RefuseWithAdvice);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Orchestrator:SlmAddress"] = slm.Address,
            ["Orchestrator:PolicyAddress"] = "",
            ["Llm:ApiKeyFile"] = "",
        });

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.AnswerAsync(Ask(Strategy.Reactive), deadline: DateTime.UtcNow.AddSeconds(30)));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Equal(RefusingSlm.AdvisedWait, ex.GetRpcStatus()!.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan());
        Assert.Equal("7", ex.Trailers.GetValue("retry-after"));
        Assert.Equal(1, slm.Calls);
    }

    [Fact]
    public async Task AStandInAtAnotherAddressStillAnswersWhenTheSlmIsFull()
    {
        await using var slm = await RefusingSlm.StartAsync(RefusingSlm.Mode.Refuse);
        await using var standIn = await RefusingSlm.StartAsync(RefusingSlm.Mode.Answer);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Orchestrator:SlmAddress"] = slm.Address,
            ["Orchestrator:PolicyAddress"] = "",
            ["Llm:ApiKeyFile"] = "",
            ["Llm:StandInAddress"] = standIn.Address,
        });

        var response = await client.AnswerAsync(Ask(Strategy.Reactive), deadline: DateTime.UtcNow.AddSeconds(30));

        Assert.True(response.Degraded);
        Assert.Contains(response.Degradations, d => d.Contains("overloaded", StringComparison.Ordinal));
        Assert.Equal(["slm.samples", "llm.answer"], response.Path);
        Assert.Equal(1, slm.Calls);
        Assert.Equal(1, standIn.Calls);
    }

    [Theory]
    [InlineData("fail")]
    [InlineData("degrade")]
    public async Task AStandInLlmThatRefusesForLoadIsNotAskedAgainAndFailModeAnswersResourceExhausted(string onFailure)
    {
        await using var slm = await RefusingSlm.StartAsync(RefusingSlm.Mode.Answer);
        await using var standIn = await RefusingSlm.StartAsync(RefusingSlm.Mode.RefuseWithAdvice);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Orchestrator:SlmAddress"] = slm.Address,
            ["Orchestrator:PolicyAddress"] = "",
            ["Storage:HintCacheEnabled"] = "false",
            ["Llm:ApiKeyFile"] = "",
            ["Llm:StandInAddress"] = standIn.Address,
            ["Llm:OnFailure"] = onFailure,
        });

        if (onFailure == "fail")
        {
            var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.AnswerAsync(Ask(Strategy.Llm), deadline: DateTime.UtcNow.AddSeconds(30)));

            Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
            Assert.Contains("retry after 7 s", ex.Status.Detail);
            Assert.Equal(RefusingSlm.AdvisedWait, ex.GetRpcStatus()!.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan());
            Assert.Equal("7", ex.Trailers.GetValue("retry-after"));
            Assert.Equal(0, slm.Calls);
        }
        else
        {
            var response = await client.AnswerAsync(Ask(Strategy.Llm), deadline: DateTime.UtcNow.AddSeconds(30));

            Assert.True(response.Degraded);
            Assert.Contains(response.Degradations, d => d.Contains("llm overloaded", StringComparison.Ordinal));
            Assert.Equal(["llm.answer", "slm.answer"], response.Path);
            Assert.Equal(1, slm.Calls);
        }

        Assert.Equal(1, standIn.Calls);
    }

    [Fact]
    public async Task WithARealLlmAFullSlmQueueFallsBackToTheLlm()
    {
        await using var slm = await RefusingSlm.StartAsync(RefusingSlm.Mode.Refuse);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Orchestrator:SlmAddress"] = slm.Address,
            ["Orchestrator:PolicyAddress"] = "",
            ["Storage:HintCacheEnabled"] = "false",
        });
        var before = stack.Groq.RequestCount;

        var response = await client.AnswerAsync(Ask(Strategy.Reactive), deadline: DateTime.UtcNow.AddSeconds(30));

        Assert.True(response.Degraded);
        Assert.False(response.LlmStandIn);
        Assert.Equal("14", response.FinalAnswer);
        Assert.Equal(before + 1, stack.Groq.RequestCount);
        Assert.Equal(1, slm.Calls);
    }

    [Fact]
    public async Task ADownstreamCallGetsTheCallersDeadlineAndWhenItPassesTheAnswerIsDeadlineExceeded()
    {
        await using var slm = await RefusingSlm.StartAsync(RefusingSlm.Mode.WaitForDeadline);
        var (client, _, _) = await stack.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Orchestrator:SlmAddress"] = slm.Address,
            ["Orchestrator:PolicyAddress"] = "",
            ["Orchestrator:DownstreamTimeoutSeconds"] = "120",
            ["Storage:HintCacheEnabled"] = "false",
        });
        var before = stack.Groq.RequestCount;
        var deadline = DateTime.UtcNow.AddSeconds(3);

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.AnswerAsync(Ask(Strategy.Reactive), deadline: deadline));

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        // The slm saw the caller's deadline (give or take grpc-timeout's rounding and the hop), not 120 s from now.
        var seen = Assert.Single(slm.Deadlines);
        Assert.True(seen <= deadline.AddSeconds(1), $"slm-service saw deadline {seen:O}; the caller's was {deadline:O}");
        // When the caller's deadline has passed, no fallback is tried.
        Assert.Equal(before, stack.Groq.RequestCount);
    }

    /// <summary>A stand-in slm-service: refuses every Generate for load, answers it, or waits for its deadline.</summary>
    private sealed class RefusingSlm : SlmService.SlmServiceBase, IAsyncDisposable
    {
        public static readonly TimeSpan AdvisedWait = TimeSpan.FromSeconds(7);

        private readonly Mode _mode;
        private readonly ConcurrentQueue<DateTime> _deadlines = new();
        private WebApplication? _app;
        private int _calls;

        private RefusingSlm(Mode mode) => _mode = mode;

        public enum Mode
        {
            Refuse,
            RefuseWithAdvice,
            Answer,
            WaitForDeadline,
        }

        public string Address { get; private set; } = "";

        public int Calls => Volatile.Read(ref _calls);

        public IReadOnlyList<DateTime> Deadlines => _deadlines.ToArray();

        public static async Task<RefusingSlm> StartAsync(Mode mode)
        {
            var slm = new RefusingSlm(mode);
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Testing" });
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(e => e.Protocols = HttpProtocols.Http2));
            builder.Services.AddGrpc();
            builder.Services.AddSingleton(slm);
            slm._app = builder.Build();
            slm._app.MapGrpcService<RefusingSlm>();
            await slm._app.StartAsync();
            slm.Address = slm._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return slm;
        }

        public override async Task<GenerateResponse> Generate(GenerateRequest request, ServerCallContext context)
        {
            Interlocked.Increment(ref _calls);
            _deadlines.Enqueue(context.Deadline);
            switch (_mode)
            {
                case Mode.Refuse:
                    // What the slm-service answers today when its queue is full: the status alone.
                    throw new RpcException(new Status(StatusCode.ResourceExhausted, "the SLM queue is full (1 requests waiting); retry later"));
                case Mode.RefuseWithAdvice:
                    throw new Google.Rpc.Status
                    {
                        Code = (int)Code.ResourceExhausted,
                        Message = "the SLM queue is full",
                        Details = { Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(AdvisedWait) }) },
                    }.ToRpcException();
                case Mode.WaitForDeadline:
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                    throw new InvalidOperationException("unreachable");
                default:
                    var response = new GenerateResponse { Model = "refusing-slm-stand-in", PromptTokens = 3 };
                    for (var i = 0; i < Math.Max(1, request.N); i++)
                    {
                        response.Completions.Add(new Completion { Text = "The answer is 7.", GeneratedTokens = 4, FinishReason = FinishReason.Stop });
                    }

                    return response;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.StopAsync();
                await _app.DisposeAsync();
            }
        }
    }
}
