using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Compression;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Shepherd.Contracts.V1;
using Xunit.Abstractions;

namespace Shepherd.EndToEnd.Tests;

/// <summary>
/// Every public RPC of the three services, as real processes, fed what a broken or hostile client sends: random
/// bytes, mutated valid bodies, random field values (undefined enums, negative and extreme numbers, huge strings,
/// out-of-range timestamps), oversized messages, bad compressed flags and truncated frames — by hand-framed HTTP/2
/// and through a GrpcChannel. Every answer must be a defined status other than UNKNOWN and INTERNAL, and each
/// process must still be running and serving afterwards. Fixed seeds: the same bytes every run.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class FuzzTests(EndToEndStack stack, ITestOutputHelper output)
{
    private static readonly int[] Seeds = [11, 23, 47];

    private static readonly Dictionary<string, IMessage> ValidRequests = new()
    {
        ["GenerateRequest"] = new GenerateRequest { Prompt = "Once upon a time", MaxTokens = 4 },
        ["GenerateStreamRequest"] = new GenerateStreamRequest { Request = new GenerateRequest { Prompt = "Once upon a time", MaxTokens = 4 } },
        ["CountTokensRequest"] = new CountTokensRequest { Messages = { new ChatMessage { Role = "user", Content = "Once upon a time" } } },
        ["TokenizeRequest"] = new TokenizeRequest { Text = "Once upon a time", AddBos = true },
        ["DetokenizeRequest"] = new DetokenizeRequest { TokenIds = { 1, 2, 3 } },
        ["SlmServiceInfoRequest"] = new SlmServiceInfoRequest(),
        ["PredictRequest"] = new PredictRequest { Query = "What is 17 * 3?" },
        ["PredictBatchRequest"] = new PredictBatchRequest { Requests = { new PredictRequest { Query = "What is 17 * 3?" } } },
        ["PolicyServiceInfoRequest"] = new PolicyServiceInfoRequest(),
        ["AnswerRequest"] = new AnswerRequest { Query = "What is 17 * 3?", Task = TaskKind.Gsm8K, Strategy = Strategy.Slm },
        ["AnswerStreamRequest"] = new AnswerStreamRequest { Request = new AnswerRequest { Query = "What is 17 * 3?", Strategy = Strategy.Slm } },
        ["UsageRequest"] = new UsageRequest { StartTime = Timestamp.FromDateTime(new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc)) },
        ["SetBudgetRequest"] = new SetBudgetRequest { ApiKeyId = "fuzz", DailyUsd = 1000, OnExceeded = BudgetPolicy.Degrade },
    };

    private readonly ConcurrentDictionary<StatusCode, int> _counts = new();
    private readonly ConcurrentQueue<string> _failures = new();
    private int _sent;

    [SkippableFact]
    public async Task EveryRpcAnswersGarbageWithADefinedStatusAndKeepsServing()
    {
        Skip.IfNot(EndToEndStack.HasModel, EndToEndStack.MissingModelReason);

        using var wire = new GrpcWire();
        var targets = new (ServiceDescriptor Service, Uri Address)[]
        {
            (SlmReflection.Descriptor.Services[0], stack.Slm.Address),
            (PolicyReflection.Descriptor.Services[0], stack.Policy.Address),
            (ShepherdReflection.Descriptor.Services[0], stack.Replicas[0].Address),
        };
        var admin = new[] { new KeyValuePair<string, string>("authorization", $"Bearer {EndToEndStack.Admin.Secret}") };

        foreach (var seed in Seeds)
        {
            foreach (var (service, address) in targets)
            {
                using var channel = GrpcChannel.ForAddress(address);
                foreach (var method in service.Methods)
                {
                    var rng = new Random(HashCode.Combine(seed, method.FullName.Length, method.Name.Length));
                    await FuzzMethodAsync(wire, channel, address, method, rng, headers: null);
                }
            }

            // The edge passes every answer through: the same bodies, once per seed, through it with an admin key.
            using var edgeChannel = GrpcChannel.ForAddress(stack.EdgeAddress);
            foreach (var (service, _) in targets)
            {
                foreach (var method in service.Methods)
                {
                    await FuzzMethodAsync(wire, edgeChannel, stack.EdgeAddress, method, new Random(seed ^ method.Name.Length), admin, onlyFraming: true);
                }
            }
        }

        // Real oversized messages (not only a header claiming one), once per service, on the wire and via a client.
        var huge = new string('a', 5 * 1024 * 1024);
        foreach (var (service, address) in targets)
        {
            var method = service.Methods[0];
            var message = RequestWithString(method.InputType, huge);
            await ExpectAsync(wire, address, method, GrpcWire.Frame(message.ToByteArray()), StatusCode.ResourceExhausted, "oversized on the wire", null);
            using var channel = GrpcChannel.ForAddress(address);
            Record(method, "oversized via client", await CallViaChannelAsync(channel, method, message.ToByteArray(), null), StatusCode.ResourceExhausted);
        }

        output.WriteLine($"fuzz: {_sent} requests; " + string.Join(", ", _counts.OrderBy(c => c.Key).Select(c => $"{c.Key} {c.Value}")));
        Assert.True(_failures.IsEmpty, string.Join('\n', _failures.Take(30)));

        // Still alive, still serving.
        foreach (var process in new[] { stack.Slm, stack.Policy, stack.Replicas[0].Process!, stack.Edge })
        {
            using var os = Process.GetProcessById(process.ProcessId);
            Assert.False(os.HasExited, $"{process.Name} exited");
        }

        using (var slm = GrpcChannel.ForAddress(stack.Slm.Address))
        {
            var generated = await new SlmService.SlmServiceClient(slm).GenerateAsync(new GenerateRequest { Prompt = "Once upon a time", MaxTokens = 4 });
            Assert.Single(generated.Completions);
        }

        using (var policy = GrpcChannel.ForAddress(stack.Policy.Address))
        {
            var predicted = await new PolicyService.PolicyServiceClient(policy).PredictAsync(new PredictRequest { Query = "What is 17 * 3?" });
            Assert.InRange(predicted.PHint, 0, 1);
        }

        var answer = await stack.Client.AnswerAsync(
            new AnswerRequest { Query = EndToEndStack.UniqueQuery("What is 17 * 3?"), Strategy = Strategy.Slm }, EndToEndStack.Team.Headers);
        Assert.NotEmpty(answer.RequestId);
    }

    private async Task FuzzMethodAsync(GrpcWire wire, GrpcChannel channel, Uri address, MethodDescriptor method, Random rng, KeyValuePair<string, string>[]? headers, bool onlyFraming = false)
    {
        var valid = ValidRequests[method.InputType.Name].ToByteArray();
        var metadata = headers is null ? null : new Metadata { { headers[0].Key, headers[0].Value } };

        // Framing that no message survives: the status is exact.
        await ExpectAsync(wire, address, method, GrpcWire.Frame(valid, flag: 1), StatusCode.InvalidArgument, "compressed flag without grpc-encoding", headers);
        await ExpectAsync(wire, address, method, GrpcWire.Frame(valid, flag: (byte)rng.Next(2, 256)), StatusCode.InvalidArgument, "undefined compressed flag", headers);
        await ExpectAsync(wire, address, method, GrpcWire.Frame(valid, declaredLength: valid.Length + 1 + rng.Next(1000)), StatusCode.InvalidArgument, "truncated frame", headers);
        await ExpectAsync(wire, address, method, GrpcWire.Frame(valid)[..rng.Next(1, 5)], StatusCode.InvalidArgument, "truncated header", headers);
        await ExpectAsync(wire, address, method, GrpcWire.Frame([], declaredLength: 64 * 1024 * 1024), StatusCode.ResourceExhausted, "header claiming 64 MB", headers);
        var gzipHeaders = (headers ?? []).Append(new KeyValuePair<string, string>("grpc-encoding", "gzip")).ToArray();
        await ExpectAsync(wire, address, method, GrpcWire.Frame(RandomBytes(rng, 40), flag: 1), StatusCode.InvalidArgument, "gzip flag over random bytes", gzipHeaders);
        await ExpectAsync(wire, address, method, GrpcWire.Frame(Gzip(valid), flag: 1), StatusCode.OK, "valid gzip body (any defined status)", gzipHeaders, anyDefined: true);
        if (onlyFraming)
        {
            return;
        }

        // Bodies: random bytes, unframed and framed; valid bodies with bytes flipped, cut or inserted.
        await ExpectAsync(wire, address, method, RandomBytes(rng, rng.Next(1, 64)), StatusCode.OK, "unframed random bytes", headers, anyDefined: true);
        for (var i = 0; i < 3; i++)
        {
            await ExpectAsync(wire, address, method, GrpcWire.Frame(RandomBytes(rng, rng.Next(1, 128))), StatusCode.OK, "framed random bytes", headers, anyDefined: true);
            await ExpectAsync(wire, address, method, GrpcWire.Frame(Mutate(valid, rng)), StatusCode.OK, "mutated valid body", headers, anyDefined: true);
        }

        // Random field values through a generated client's transport.
        for (var i = 0; i < 3; i++)
        {
            var message = RandomMessage(method.InputType, rng, depth: 0);
            Record(method, "random field values", await CallViaChannelAsync(channel, method, message.ToByteArray(), metadata), expected: null);
        }
    }

    private async Task ExpectAsync(GrpcWire wire, Uri address, MethodDescriptor method, byte[] body, StatusCode expected, string what, IEnumerable<KeyValuePair<string, string>>? headers, bool anyDefined = false)
    {
        WireAnswer answer;
        try
        {
            answer = await wire.CallAsync(address, $"/{method.Service.FullName}/{method.Name}", body, headers);
        }
        catch (HttpRequestException ex)
        {
            Interlocked.Increment(ref _sent);
            _failures.Enqueue($"{method.FullName} {what}: no gRPC answer ({ex.Message})");
            return;
        }

        if ((int)answer.Status < 0)
        {
            Interlocked.Increment(ref _sent);
            _failures.Enqueue($"{method.FullName} {what}: HTTP {(int)answer.HttpStatus} without grpc-status");
            return;
        }

        Record(method, what, answer.Status, anyDefined ? null : expected);
    }

    private void Record(MethodDescriptor method, string what, StatusCode status, StatusCode? expected)
    {
        Interlocked.Increment(ref _sent);
        _counts.AddOrUpdate(status, 1, (_, n) => n + 1);
        var defined = System.Enum.IsDefined(status) && status is not (StatusCode.Unknown or StatusCode.Internal);
        if (!defined || (expected is { } e && status != e))
        {
            _failures.Enqueue($"{method.FullName} {what}: {status}" + (expected is { } x ? $" (expected {x})" : ""));
        }
    }

    private static async Task<StatusCode> CallViaChannelAsync(GrpcChannel channel, MethodDescriptor method, byte[] request, Metadata? headers)
    {
        var marshaller = Marshallers.Create(b => b, b => b);
        var options = new CallOptions(headers, deadline: DateTime.UtcNow.AddSeconds(10));
        try
        {
            if (method.IsServerStreaming)
            {
                var streaming = new Method<byte[], byte[]>(MethodType.ServerStreaming, method.Service.FullName, method.Name, marshaller, marshaller);
                using var call = channel.CreateCallInvoker().AsyncServerStreamingCall(streaming, null, options, request);
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                }

                return StatusCode.OK;
            }

            var unary = new Method<byte[], byte[]>(MethodType.Unary, method.Service.FullName, method.Name, marshaller, marshaller);
            await channel.CreateCallInvoker().AsyncUnaryCall(unary, null, options, request);
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }

    private static IMessage RequestWithString(MessageDescriptor descriptor, string text)
    {
        var message = RandomMessage(descriptor, new Random(1), depth: 0, fill: false);
        var field = descriptor.Fields.InDeclarationOrder().First(f => f.FieldType is FieldType.String or FieldType.Message && !f.IsMap);
        if (field.FieldType == FieldType.String)
        {
            if (field.IsRepeated)
            {
                ((IList)field.Accessor.GetValue(message)).Add(text);
            }
            else
            {
                field.Accessor.SetValue(message, text);
            }

            return message;
        }

        var inner = RequestWithString(field.MessageType, text);
        if (field.IsRepeated)
        {
            ((IList)field.Accessor.GetValue(message)).Add(inner);
        }
        else
        {
            field.Accessor.SetValue(message, inner);
        }

        return message;
    }

    private static IMessage RandomMessage(MessageDescriptor descriptor, Random rng, int depth, bool fill = true)
    {
        var message = descriptor.Parser.ParseFrom(ByteString.Empty);
        if (!fill || depth > 2)
        {
            return message;
        }

        foreach (var field in descriptor.Fields.InDeclarationOrder())
        {
            if (rng.Next(4) == 0)
            {
                continue;
            }

            if (field.IsMap)
            {
                var map = (IDictionary)field.Accessor.GetValue(message);
                var key = field.MessageType.FindFieldByNumber(1);
                var value = field.MessageType.FindFieldByNumber(2);
                for (var i = rng.Next(4); i > 0; i--)
                {
                    map[RandomValue(key, rng, depth)] = RandomValue(value, rng, depth);
                }
            }
            else if (field.IsRepeated)
            {
                var list = (IList)field.Accessor.GetValue(message);
                for (var i = rng.Next(5); i > 0; i--)
                {
                    list.Add(RandomValue(field, rng, depth));
                }
            }
            else
            {
                field.Accessor.SetValue(message, RandomValue(field, rng, depth));
            }
        }

        return message;
    }

    private static object RandomValue(FieldDescriptor field, Random rng, int depth) => field.FieldType switch
    {
        FieldType.String => Pick(rng, "", "x", "user", "assistant", "What is 2+2? \uFFFD", "Once upon a time", new string('z', 250_000), "\u00e9\u4e2d\U0001F600"),
        FieldType.Bool => rng.Next(2) == 0,
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => Pick(rng, 0, 1, 3, -1, int.MinValue, int.MaxValue, rng.Next(-10, 100)),
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => Pick(rng, 0L, -1L, long.MinValue, long.MaxValue, 1_700_000_000L, 999_999_999_999L),
        FieldType.UInt32 or FieldType.Fixed32 => Pick(rng, 0u, 1u, uint.MaxValue),
        FieldType.UInt64 or FieldType.Fixed64 => Pick(rng, 0ul, 42ul, ulong.MaxValue),
        FieldType.Double => Pick(rng, 0.0, 0.5, -1.0, 1.0, double.NaN, double.PositiveInfinity, double.MaxValue, -1e308),
        FieldType.Float => Pick(rng, 0f, 0.5f, -1f, 1f, 2.5f, float.NaN, float.NegativeInfinity),
        FieldType.Bytes => ByteString.CopyFrom(RandomBytes(rng, rng.Next(0, 32))),
        FieldType.Enum => System.Enum.ToObject(field.EnumType.ClrType, Pick(rng, 0, 1, 2, 3, 5, 7, 42, -1, int.MaxValue)),
        FieldType.Message when field.MessageType.FullName == Timestamp.Descriptor.FullName => new Timestamp
        {
            Seconds = Pick(rng, 0L, 1_700_000_000L, -62_135_596_801L, 253_402_300_800L, long.MaxValue, long.MinValue),
            Nanos = Pick(rng, 0, 5, -1, 1_000_000_000),
        },
        FieldType.Message => RandomMessage(field.MessageType, rng, depth + 1),
        _ => throw new NotSupportedException(field.FieldType.ToString()),
    };

    private static T Pick<T>(Random rng, params T[] values) => values[rng.Next(values.Length)];

    private static byte[] RandomBytes(Random rng, int length)
    {
        var bytes = new byte[length];
        rng.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Mutate(byte[] valid, Random rng)
    {
        var bytes = valid.ToList();
        switch (rng.Next(3))
        {
            case 0 when bytes.Count > 0:
                for (var i = rng.Next(1, 4); i > 0; i--)
                {
                    bytes[rng.Next(bytes.Count)] ^= (byte)(1 << rng.Next(8));
                }

                break;
            case 1 when bytes.Count > 1:
                bytes.RemoveRange(rng.Next(1, bytes.Count), 1);
                break;
            default:
                bytes.InsertRange(rng.Next(bytes.Count + 1), RandomBytes(rng, rng.Next(1, 8)));
                break;
        }

        return [.. bytes];
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }
}
