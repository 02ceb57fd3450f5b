using System.Buffers.Binary;
using System.IO.Compression;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using BadRequest = Google.Rpc.BadRequest;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Shepherd.ServiceDefaults;

/// <summary>
/// grpc-dotnet deserialises a request before any interceptor runs, so a body it cannot read (random bytes, a
/// truncated frame, a compressed flag without an encoding, invalid UTF-8 in a string field) surfaces as UNKNOWN
/// "Exception was thrown by handler" or INTERNAL. This middleware reads the one request message of every unary
/// and server-streaming call of the host's contracts (<see cref="MalformedMessageOptions"/>) first and answers such bodies itself: INVALID_ARGUMENT
/// naming the problem (and the field, for invalid UTF-8), RESOURCE_EXHAUSTED for a message over
/// <see cref="GrpcServiceOptions.MaxReceiveMessageSize"/>, decided from the frame header before the body is read.
/// A valid message is handed on unchanged.
/// </summary>
public sealed class MalformedMessageMiddleware(RequestDelegate next, IOptions<GrpcServiceOptions> grpcOptions, IOptions<MalformedMessageOptions> contracts, ILogger<MalformedMessageMiddleware> logger)
{
    private const int HeaderLength = 5;

    private readonly Dictionary<string, MessageDescriptor> _requests = BuildRequests(contracts.Value.Contracts);

    private readonly int _maxMessageBytes = grpcOptions.Value.MaxReceiveMessageSize ?? int.MaxValue;

    public async Task InvokeAsync(HttpContext context)
    {
        if (!_requests.TryGetValue(context.Request.Path.Value ?? "", out var descriptor)
            || context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true
            || context.Request.ContentType.StartsWith("application/grpc-web", StringComparison.Ordinal))
        {
            await next(context);
            return;
        }

        Rejection? rejection;
        byte[] frame;
        try
        {
            (frame, rejection) = await ReadFrameAsync(context);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or BadHttpRequestException)
        {
            // The client went away or broke the stream mid-body: there is no one left to answer.
            return;
        }

        rejection ??= Validate(context, frame, descriptor);
        if (rejection is { } r)
        {
            ServiceDefaultsLog.RejectedRequest(logger, context.Request.Path.Value ?? "", r.Status, r.Message);
            WriteStatus(context.Response, r);
            return;
        }

        context.Request.Body = new MemoryStream(frame, writable: false);
        await next(context);
    }

    private async Task<(byte[] Frame, Rejection? Rejection)> ReadFrameAsync(HttpContext context)
    {
        var body = context.Request.Body;
        var token = context.RequestAborted;
        var header = new byte[HeaderLength];
        var read = await ReadAtMostAsync(body, header, token);
        if (read < HeaderLength)
        {
            return ([], Invalid(read == 0 ? "request carries no message" : $"request frame is truncated: {read} of {HeaderLength} header bytes"));
        }

        if (header[0] > 1)
        {
            return ([], Invalid($"request frame has compressed flag {header[0]}; it must be 0 or 1"));
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1));
        if (length > (uint)_maxMessageBytes)
        {
            return ([], new Rejection(StatusCode.ResourceExhausted, $"request message is {length} bytes; the limit is {_maxMessageBytes}"));
        }

        var frame = new byte[HeaderLength + (int)length];
        header.CopyTo(frame, 0);
        read = await ReadAtMostAsync(body, frame.AsMemory(HeaderLength), token);
        if (read < length)
        {
            return ([], Invalid($"request frame is truncated: {read} of {length} message bytes"));
        }

        if (await ReadAtMostAsync(body, new byte[1], token) > 0)
        {
            return ([], Invalid("request carries more than one message; this method takes exactly one"));
        }

        return (frame, null);
    }

    private Rejection? Validate(HttpContext context, byte[] frame, MessageDescriptor descriptor)
    {
        ReadOnlyMemory<byte> message = frame.AsMemory(HeaderLength);
        if (frame[0] == 1)
        {
            var encoding = context.Request.Headers["grpc-encoding"].ToString();
            if (encoding.Length == 0 || encoding == "identity")
            {
                return Invalid("request frame is flagged compressed but the request names no grpc-encoding");
            }

            if (encoding != "gzip")
            {
                // grpc-dotnet answers an encoding it does not support with UNIMPLEMENTED.
                return null;
            }

            var (inflated, problem) = Gunzip(message);
            if (problem is not null)
            {
                return problem;
            }

            message = inflated;
        }

        if (InvalidUtf8Locator.Find(message.Span, descriptor) is { } field)
        {
            return new Rejection(StatusCode.InvalidArgument, $"{field}: is not valid UTF-8", field, "is not valid UTF-8");
        }

        try
        {
            descriptor.Parser.ParseFrom(message.Span);
            return null;
        }
        catch (InvalidProtocolBufferException ex)
        {
            return Invalid($"request is not a valid {descriptor.FullName}: {ex.Message}");
        }
    }

    private (ReadOnlyMemory<byte> Message, Rejection? Problem) Gunzip(ReadOnlyMemory<byte> compressed)
    {
        try
        {
            using var input = new GZipStream(new MemoryStream(compressed.ToArray(), writable: false), CompressionMode.Decompress);
            using var output = new MemoryStream();
            var buffer = new byte[81920];
            int n;
            while ((n = input.Read(buffer)) > 0)
            {
                if (output.Length + n > _maxMessageBytes)
                {
                    return (default, new Rejection(StatusCode.ResourceExhausted, $"decompressed request message exceeds the limit of {_maxMessageBytes} bytes"));
                }

                output.Write(buffer, 0, n);
            }

            return (output.ToArray(), null);
        }
        catch (InvalidDataException)
        {
            return (default, Invalid("request message is flagged gzip-compressed but is not valid gzip"));
        }
    }

    private static async Task<int> ReadAtMostAsync(Stream stream, Memory<byte> buffer, CancellationToken token)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer[total..], token);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    private static void WriteStatus(HttpResponse response, Rejection rejection)
    {
        // Trailers-only: the status in the one HEADERS frame, as grpc-dotnet itself answers a call that fails early.
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)rejection.Status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = GrpcStatusMessage.Encode(rejection.Message);
        if (rejection.Field is { } field)
        {
            var status = new Google.Rpc.Status
            {
                Code = (int)rejection.Status,
                Message = rejection.Message,
                Details = { Any.Pack(new BadRequest { FieldViolations = { new BadRequest.Types.FieldViolation { Field = field, Description = rejection.Description } } }) },
            };
            response.Headers["grpc-status-details-bin"] = Convert.ToBase64String(status.ToByteArray());
        }
    }

    private static Rejection Invalid(string message) => new(StatusCode.InvalidArgument, message);

    private static Dictionary<string, MessageDescriptor> BuildRequests(IEnumerable<FileDescriptor> contracts)
    {
        var requests = new Dictionary<string, MessageDescriptor>(StringComparer.Ordinal);
        foreach (var file in contracts)
        {
            foreach (var service in file.Services)
            {
                foreach (MethodDescriptor method in service.Methods)
                {
                    if (!method.IsClientStreaming)
                    {
                        requests[$"/{service.FullName}/{method.Name}"] = method.InputType;
                    }
                }
            }
        }

        return requests;
    }

    private sealed record Rejection(StatusCode Status, string Message, string? Field = null, string? Description = null);
}
