using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Shepherd.Contracts.V1;
using Shepherd.Orchestrator.Pipeline;
using Shepherd.Llm.Storage;
using Shepherd.ServiceDefaults.Identity;

namespace Shepherd.Orchestrator.Grpc;

public sealed class ShepherdGrpcService(AnswerPipeline pipeline, ILedger ledger, KeyBudgets budgets, CallerIdentity identity) : ShepherdService.ShepherdServiceBase
{
    /// <summary>Set by the edge from the authenticated API key, signed (<see cref="CallerIdentity"/>); direct callers are "anonymous".</summary>
    public const string ApiKeyIdHeader = SignedIdentity.KeyIdHeader;

    /// <summary>Set by the edge to "true" for admin keys (covered by the signature).</summary>
    public const string ApiKeyAdminHeader = SignedIdentity.AdminHeader;

    public override Task<AnswerResponse> Answer(AnswerRequest request, ServerCallContext context) =>
        pipeline.AnswerAsync(request, identity.Resolve(context).KeyId, textSink: null, context.Deadline, context.CancellationToken);

    public override async Task AnswerStream(AnswerStreamRequest request, IServerStreamWriter<AnswerStreamResponse> responseStream, ServerCallContext context)
    {
        var answer = request.Request ?? throw new Core.Errors.InvalidRequestException("request", "is required");
        var deltas = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        var run = pipeline.AnswerAsync(answer, identity.Resolve(context).KeyId, text => deltas.Writer.TryWrite(text), context.Deadline, context.CancellationToken);
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
        var caller = identity.Resolve(context);
        var key = request.ApiKeyId.Length > 0 ? request.ApiKeyId : caller.KeyId;
        // Through the edge a key reads its own usage; only admin keys (and direct, internal callers) read others'.
        if (caller.ViaEdge && key != caller.KeyId && !caller.Admin)
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
        // Through the edge only admin keys (the edge's signature covers the admin flag); direct (internal) callers are
        // trusted as for Usage.
        var caller = identity.Resolve(context);
        if (caller.ViaEdge && !caller.Admin)
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
}
