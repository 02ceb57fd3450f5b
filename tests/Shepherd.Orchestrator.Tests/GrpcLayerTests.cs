using Google.Rpc;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Shepherd.Contracts.V1;
using Shepherd.Core.Strategies;
using Shepherd.Llm;
using Shepherd.Llm.Storage;
using Shepherd.Orchestrator.Grpc;
using Shepherd.ServiceDefaults;
using Shepherd.TestSupport;

namespace Shepherd.Orchestrator.Tests;

/// <summary>
/// The gRPC layer without a server: <see cref="ShepherdGrpcService"/> called through the status-mapping interceptor
/// with a <see cref="TestServerCallContext"/>, on the real orchestrator composition (built, never started). Its
/// slm-service (and the stand-in LLM on it) is a scripted call invoker that answers every call UNAVAILABLE, as a dead
/// service does, and counts the calls: no socket is opened. Each test shows which status a request gets before (or
/// without) any model.
/// </summary>
public sealed class GrpcLayerTests : IAsyncLifetime
{
    private readonly string _work = Directory.CreateTempSubdirectory("shepherd-grpc-layer").FullName;
    private readonly DeadSlm _slm = new();
    private WebApplication? _app;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        Directory.Delete(_work, recursive: true);
    }

    [Theory]
    [InlineData(99, 2, "strategy")]
    [InlineData(1, 99, "task")]
    public async Task AnUnknownEnumIsInvalidArgumentNamingItsField(int strategy, int task, string field)
    {
        var request = new AnswerRequest { Query = "What is 2 + 2?", Strategy = (Strategy)strategy, Task = (TaskKind)task };

        var ex = await Assert.ThrowsAsync<RpcException>(() => AnswerAsync(request, TestServerCallContext.Create()));

        AssertInvalid(ex, field);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\t")]
    public async Task AnEmptyQueryIsInvalidArgument(string query)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => AnswerAsync(new AnswerRequest { Query = query }, TestServerCallContext.Create()));

        AssertInvalid(ex, "query");
    }

    [Fact]
    public async Task AnOversizedQueryIsInvalidArgumentNamingTheLimit()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => AnswerAsync(
            new AnswerRequest { Query = new string('x', 101) }, TestServerCallContext.Create(), new() { ["Orchestrator:MaxQueryChars"] = "100" }));

        AssertInvalid(ex, "query");
        Assert.Contains("Orchestrator:MaxQueryChars", ex.Status.Detail);
    }

    [Fact]
    public async Task AStreamWithoutARequestIsInvalidArgument()
    {
        var (service, interceptor) = Build();
        var writer = new TestServerStreamWriter<AnswerStreamResponse>();

        var ex = await Assert.ThrowsAsync<RpcException>(() => interceptor.ServerStreamingServerHandler(
            new AnswerStreamRequest(), writer, TestServerCallContext.Create(), service.AnswerStream));

        AssertInvalid(ex, "request");
        Assert.Empty(writer.Written);
    }

    [Fact]
    public async Task ACallWhoseDeadlineHasPassedIsDeadlineExceededWithNoFallback()
    {
        var context = TestServerCallContext.Create(deadline: DateTime.UtcNow.AddSeconds(-1));

        var ex = await Assert.ThrowsAsync<RpcException>(() => AnswerAsync(new AnswerRequest { Query = "What is 2 + 2?", Strategy = Strategy.Reactive }, context));

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
    }

    [Fact]
    public async Task ACancelledCallIsCancelled()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var context = TestServerCallContext.Create(deadline: DateTime.UtcNow.AddMinutes(1), cancellationToken: cancelled.Token);

        var ex = await Assert.ThrowsAsync<RpcException>(() => AnswerAsync(new AnswerRequest { Query = "What is 2 + 2?", Strategy = Strategy.Slm }, context));

        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
    }

    [Theory]
    [InlineData("degrade")]
    [InlineData("fail")]
    public async Task ABudgetTooSmallBuysNothingInEitherOnFailureMode(string onFailure)
    {
        // Budget 0: the LLM is not asked (no paid call, no ledger row); the SLM is, and since it is dead the answer
        // fails UNAVAILABLE naming both, in either mode (a budget is not an outage).
        var id = Guid.NewGuid().ToString("N");
        var request = new AnswerRequest { Query = "What is 2 + 2?", Strategy = Strategy.Llm, BudgetUsd = 0, RequestId = id };

        var ex = await Assert.ThrowsAsync<RpcException>(() => AnswerAsync(
            request, TestServerCallContext.Create(deadline: DateTime.UtcNow.AddSeconds(30)), new() { ["Llm:OnFailure"] = onFailure }));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("budget", ex.Status.Detail);
        Assert.Equal(["/shepherd.v1.SlmService/Generate"], _slm.Calls);
        Assert.Empty(await _app!.Services.GetRequiredService<ILedger>().EntriesAsync(id, CancellationToken.None));
    }

    [Fact]
    public async Task ThroughTheEdgeAKeyReadsOnlyItsOwnUsage()
    {
        var (service, interceptor) = Build();
        var headers = StackFixture.SignedAs("alice");

        var ex = await Assert.ThrowsAsync<RpcException>(() => interceptor.UnaryServerHandler(
            new UsageRequest { ApiKeyId = "bob" }, TestServerCallContext.Create(headers), service.Usage));
        var own = await interceptor.UnaryServerHandler(new UsageRequest(), TestServerCallContext.Create(headers), service.Usage);

        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        Assert.Equal(0, own.TotalUsd);
    }

    [Fact]
    public async Task AUsageWindowEndingBeforeItStartsIsInvalidArgument()
    {
        var (service, interceptor) = Build();
        var request = new UsageRequest
        {
            StartTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(new DateTime(2026, 2, 1, 0, 0, 0, DateTimeKind.Utc)),
            EndTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc)),
        };

        var ex = await Assert.ThrowsAsync<RpcException>(() => interceptor.UnaryServerHandler(request, TestServerCallContext.Create(), service.Usage));

        AssertInvalid(ex, "end_time");
    }

    [Fact]
    public void EveryServingStrategyAndTaskMapsToItsProtoAndBack()
    {
        foreach (var kind in StrategyNames.All)
        {
            Assert.Equal(kind, ProtoNames.ToKind(ProtoNames.ToProto(kind)));
        }

        Assert.Equal(StrategyKind.Reactive, ProtoNames.ToKind(Strategy.Unspecified));
        Assert.Null(ProtoNames.ToKind((Strategy)99));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProtoNames.ToProto(StrategyKind.Oracle));
        foreach (var task in Enum.GetValues<TaskKind>().Where(t => t != TaskKind.Unspecified))
        {
            Assert.Equal(task, ProtoNames.ToProto(ProtoNames.ToTaskName(task)!));
        }
    }

    private Task<AnswerResponse> AnswerAsync(AnswerRequest request, TestServerCallContext context, Dictionary<string, string?>? settings = null)
    {
        var (service, interceptor) = Build(settings);
        return interceptor.UnaryServerHandler(request, context, service.Answer);
    }

    private (ShepherdGrpcService Service, ExceptionMappingInterceptor Interceptor) Build(Dictionary<string, string?>? settings = null)
    {
        _app = OrchestratorApp.Build(["--contentRoot", _work], b =>
        {
            var c = b.Configuration;
            c["Logging:LogLevel:Default"] = "Warning";
            c["Orchestrator:SlmAddress"] = "http://127.0.0.1:1";
            c["Orchestrator:PolicyAddress"] = "";
            c["Llm:ApiKeyVariable"] = "SHEPHERD_TEST_UNSET_KEY_VARIABLE";
            c["Llm:ApiKeyFile"] = "";
            c["Llm:MaxRetries"] = "0";
            c["Storage:SqlitePath"] = Path.Combine(_work, "orchestrator.db");
            c["Identity:SigningKey"] = StackFixture.IdentityKey;
            foreach (var (key, value) in settings ?? [])
            {
                c[key] = value;
            }

            b.Services.AddSingleton(new SlmService.SlmServiceClient(_slm));
            b.Services.AddSingleton(new StandInSlmServiceClient(_slm));
        });
        return (ActivatorUtilities.CreateInstance<ShepherdGrpcService>(_app.Services), ActivatorUtilities.CreateInstance<ExceptionMappingInterceptor>(_app.Services));
    }

    private static void AssertInvalid(RpcException ex, string field)
    {
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var violation = Assert.Single(ex.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations);
        Assert.Equal(field, violation.Field);
    }

    /// <summary>An slm-service that is down: every call fails UNAVAILABLE at once; the methods asked are recorded.</summary>
    private sealed class DeadSlm : CallInvoker
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _calls = new();

        public IReadOnlyList<string> Calls => [.. _calls];

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        {
            _calls.Enqueue(method.FullName);
            // As grpc-dotnet's client does, a cancelled call or a passed deadline fails before the transport is tried.
            var status = options.CancellationToken.IsCancellationRequested ? new global::Grpc.Core.Status(StatusCode.Cancelled, "Call canceled by the client.")
                : options.Deadline is { } deadline && deadline <= DateTime.UtcNow ? new global::Grpc.Core.Status(StatusCode.DeadlineExceeded, "Deadline Exceeded")
                : new global::Grpc.Core.Status(StatusCode.Unavailable, "scripted: the slm-service is down");
            return new AsyncUnaryCall<TResponse>(
                Task.FromException<TResponse>(new RpcException(status)), Task.FromResult(new Metadata()), () => status, () => [], () => { });
        }

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw new NotSupportedException(method.FullName);

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw new NotSupportedException(method.FullName);

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            throw new NotSupportedException(method.FullName);

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            throw new NotSupportedException(method.FullName);
    }
}
