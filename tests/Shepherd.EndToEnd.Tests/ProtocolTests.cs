using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;
using Shepherd.Contracts.V1;

namespace Shepherd.EndToEnd.Tests;

/// <summary>The wire-level answers of issue 9: each bad input names its field, through the edge as directly.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ProtocolTests(EndToEndStack stack)
{
    [SkippableFact]
    public async Task InvalidUtf8NamesTheFieldItIsIn()
    {
        Skip.IfNot(EndToEndStack.HasModel, EndToEndStack.MissingModelReason);
        // GenerateRequest.messages[0] = { role: "user", content: "ab\xFF\xFE" }.
        byte[] message = [0x12, 0x0C, 0x0A, 0x04, .."user"u8, 0x12, 0x04, (byte)'a', (byte)'b', 0xFF, 0xFE];
        using var wire = new GrpcWire();

        var answer = await wire.CallAsync(stack.Slm.Address, "/shepherd.v1.SlmService/Generate", GrpcWire.Frame(message));

        Assert.Equal(StatusCode.InvalidArgument, answer.Status);
        Assert.Equal("messages[0].content: is not valid UTF-8", answer.RawMessage);
    }

    [SkippableFact]
    public async Task AQueryContainingTheReplacementCharacterIsAnswered()
    {
        Skip.IfNot(EndToEndStack.HasModel, EndToEndStack.MissingModelReason);

        var answer = await stack.Client.AnswerAsync(
            new AnswerRequest { Query = EndToEndStack.UniqueQuery("What is 2 \uFFFD 3?"), Strategy = Strategy.Slm }, EndToEndStack.Team.Headers);

        Assert.NotEmpty(answer.RequestId);
    }

    [SkippableFact]
    public async Task AnOversizedTaskContextIsRefusedNamingTaskContext()
    {
        Skip.IfNot(EndToEndStack.HasModel, EndToEndStack.MissingModelReason);

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await stack.Client.AnswerAsync(
            new AnswerRequest { Query = "Write f.", Task = TaskKind.Mbpp, Strategy = Strategy.Slm, TaskContext = new string('a', 20_001) }, EndToEndStack.Team.Headers));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("task_context", Assert.Single(Assert.Single(ex.GetRpcStatus()!.Details).Unpack<BadRequest>().FieldViolations).Field);
    }

    [SkippableFact]
    public async Task AnOutOfRangeTimestampIsRefusedNamingTheFieldAndTheEdgeKeepsTheMessageReadable()
    {
        Skip.IfNot(EndToEndStack.HasModel, EndToEndStack.MissingModelReason);
        var request = new UsageRequest { StartTime = new Timestamp { Seconds = long.MaxValue } };
        using var wire = new GrpcWire();

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await stack.Client.UsageAsync(request, EndToEndStack.Team.Headers));
        var raw = await wire.CallAsync(stack.EdgeAddress, "/shepherd.v1.ShepherdService/Usage", GrpcWire.Frame(request.ToByteArray()),
            [new("authorization", $"Bearer {EndToEndStack.Team.Secret}")]);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith("start_time: ", ex.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, raw.Status);
        Assert.StartsWith("start_time: is not a valid timestamp", raw.RawMessage);
    }

    [SkippableFact]
    public async Task TheEdgesOwnRefusalsCarryTheTextUnencoded()
    {
        Skip.IfNot(EndToEndStack.HasModel, EndToEndStack.MissingModelReason);
        using var wire = new GrpcWire();
        var request = GrpcWire.Frame(new AnswerRequest { Query = "x" }.ToByteArray());
        var headers = new KeyValuePair<string, string>[] { new("authorization", $"Bearer {EndToEndStack.Tight.Secret}") };

        // The tight key allows one call per second with a burst of one: the second or third is refused.
        WireAnswer? refused = null;
        for (var i = 0; i < 5 && refused is null; i++)
        {
            var answer = await wire.CallAsync(stack.EdgeAddress, "/shepherd.v1.ShepherdService/Usage", request, headers);
            refused = answer.Status == StatusCode.ResourceExhausted ? answer : null;
        }

        Assert.NotNull(refused);
        Assert.Equal("rate limit exceeded for API key 'tight'", refused.RawMessage);
    }

    [SkippableFact]
    public async Task TokenizeRefusesTextOverTheInputBound()
    {
        Skip.IfNot(EndToEndStack.HasModel, EndToEndStack.MissingModelReason);
        using var channel = GrpcChannel.ForAddress(stack.Slm.Address);

        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await new SlmService.SlmServiceClient(channel).TokenizeAsync(new TokenizeRequest { Text = new string('a', 200_001) }));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith("text: ", ex.Status.Detail);
    }

    [SkippableFact]
    public async Task TheTraceCarriesTheQueryLengthThePolicySaw()
    {
        Skip.IfNot(EndToEndStack.HasModel, EndToEndStack.MissingModelReason);

        var answer = await stack.Client.AnswerAsync(
            new AnswerRequest { Query = EndToEndStack.UniqueQuery("What is 17 * 3?"), Task = TaskKind.Gsm8K, Strategy = Strategy.Proactive }, EndToEndStack.Team.Headers);

        Assert.InRange(answer.Trace.QueryLength, 5, 100);
    }
}
