using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Shepherd.Contracts.V1;
using Shepherd.Orchestrator.Pipeline;
using Shepherd.Llm.Storage;

namespace Shepherd.Orchestrator.Grpc;

public sealed class ShepherdGrpcService(AnswerPipeline pipeline, ILedger ledger, KeyBudgets budgets) : ShepherdService.ShepherdServiceBase
{
    /// <summary>Set by the edge from the authenticated API key; direct callers are "anonymous".</summary>
    public const string ApiKeyIdHeader = "x-shepherd-api-key-id";

    /// <summary>Set by the edge to "true" for admin keys.</summary>
    public const string ApiKeyAdminHeader = "x-shepherd-api-key-admin";

    public override Task<AnswerResponse> Answer(AnswerRequest request, ServerCallContext context) =>
        pipeline.AnswerAsync(request, ApiKeyId(context), textSink: null, context.Deadline, context.CancellationToken);

    public override async Task AnswerStream(AnswerStreamRequest request, IServerStreamWriter<AnswerStreamResponse> responseStream, ServerCallContext context)
    {
        var answer = request.Request ?? throw new Core.Errors.InvalidRequestException("request", "is required");
        var deltas = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        var run = pipeline.AnswerAsync(answer, ApiKeyId(context), text => deltas.Writer.TryWrite(text), context.Deadline, context.CancellationToken);
        _ = run.ContinueWith(_ => deltas.Writer.TryComplete(), TaskScheduler.Default);
        await foreach (var delta in deltas.Reader.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(new AnswerStreamResponse { TextDelta = delta }, context.CancellationToken);
        }

        var final = await run;
        await responseStream.WriteAsync(new AnswerStreamResponse { Final = final }, context.CancellationToken);
    }

    public override async Task<UsageResponse> Usage(UsageRequest request, ServerCallContext context)
    {
        var caller = ApiKeyId(context);
        var key = request.ApiKeyId.Length > 0 ? request.ApiKeyId : caller;
        // Through the edge a key reads its own usage; only admin keys (and direct, internal callers) read others'.
        var viaEdge = context.RequestHeaders.GetValue(ApiKeyIdHeader) is { Length: > 0 };
        if (viaEdge && key != caller && context.RequestHeaders.GetValue(ApiKeyAdminHeader) != "true")
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "a key may read only its own usage; admin keys may read any"));
        }

        var from = ReadTime(request.StartTime, "start_time");
        var to = ReadTime(request.EndTime, "end_time");
        if (from is { } f && to is { } t && t < f)
        {
            throw new Core.Errors.InvalidRequestException("end_time", "is before start_time");
        }

        var rows = await ledger.TotalsAsync(key, from, to, context.CancellationToken);
        var response = new UsageResponse { TotalUsd = rows.Sum(r => r.Usd), Budget = await BudgetMapper.ReadAsync(budgets, key, context.CancellationToken) };
        response.Totals.AddRange(rows.Select(r => new UsageTotal
        {
            ApiKeyId = r.ApiKeyId,
            Model = r.Model,
            Strategy = r.Strategy,
            Calls = r.Calls,
            PromptTokens = r.PromptTokens,
            CompletionTokens = r.CompletionTokens,
            Usd = r.Usd,
        }));
        return response;
    }

    public override async Task<SetBudgetResponse> SetBudget(SetBudgetRequest request, ServerCallContext context)
    {
        // Through the edge only admin keys; direct (internal) callers are trusted as for Usage.
        var viaEdge = context.RequestHeaders.GetValue(ApiKeyIdHeader) is { Length: > 0 };
        if (viaEdge && context.RequestHeaders.GetValue(ApiKeyAdminHeader) != "true")
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "only admin keys may set budgets"));
        }

        var limits = BudgetMapper.ToLimits(request);
        await budgets.SetLimitsAsync(request.ApiKeyId, limits, context.CancellationToken);
        return new SetBudgetResponse { Budget = await BudgetMapper.ReadAsync(budgets, request.ApiKeyId, context.CancellationToken) };
    }

    // google.protobuf.Timestamp's valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
    private const long MinTimestampSeconds = -62_135_596_800;
    private const long MaxTimestampSeconds = 253_402_300_799;

    private static DateTimeOffset? ReadTime(Timestamp? time, string field)
    {
        if (time is null)
        {
            return null;
        }

        if (time.Seconds is < MinTimestampSeconds or > MaxTimestampSeconds || time.Nanos is < 0 or > 999_999_999)
        {
            throw new Core.Errors.InvalidRequestException(field, $"is not a valid timestamp (seconds {time.Seconds}, nanos {time.Nanos}); it must lie in 0001-01-01..9999-12-31 with nanos in [0, 999999999]");
        }

        return time.ToDateTimeOffset();
    }

    private static string ApiKeyId(ServerCallContext context) => ApiKeyIdOf(context.RequestHeaders.GetValue(ApiKeyIdHeader));

    /// <summary>The caller's key id from the edge's header (gRPC and the OpenAI API read it the same way).</summary>
    public static string ApiKeyIdOf(string? header) => header is { Length: > 0 } id ? id : "anonymous";
}
