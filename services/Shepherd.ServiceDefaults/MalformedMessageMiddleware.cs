using System.Buffers.Binary;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;
using Shepherd.Contracts.V1;

namespace Shepherd.ServiceDefaults;

/// <summary>
/// grpc-dotnet deserialises a request before any interceptor runs, so a message that protobuf refuses
/// (invalid UTF-8 in a string field, a truncated field) surfaces as UNKNOWN "Exception was thrown by handler".
/// This middleware parses unary requests of Shepherd's own contracts first and answers such messages with
/// INVALID_ARGUMENT naming the problem. Compressed or multi-message bodies pass through untouched.
/// </summary>
public sealed class MalformedMessageMiddleware(RequestDelegate next)
{
    private const int MaxInspectedBytes = 4 * 1024 * 1024;

    private static readonly Dictionary<string, MessageParser> Parsers = BuildParsers();

    public async Task InvokeAsync(HttpContext context)
    {
        if (!Parsers.TryGetValue(context.Request.Path.Value ?? "", out var parser)
            || context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true
            || context.Request.ContentType.StartsWith("application/grpc-web", StringComparison.Ordinal))
        {
            await next(context);
            return;
        }

        context.Request.EnableBuffering(bufferThreshold: 64 * 1024, bufferLimit: MaxInspectedBytes + 5);
        var body = new MemoryStream();
        try
        {
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        }
        catch (IOException)
        {
            await next(context);
            return;
        }

        context.Request.Body.Position = 0;
        var bytes = body.GetBuffer().AsMemory(0, (int)body.Length);
        if (bytes.Length >= 5 && bytes.Span[0] == 0)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(bytes.Span[1..5]);
            if (length == bytes.Length - 5)
            {
                try
                {
                    parser.ParseFrom(bytes.Span[5..]);
                }
                catch (InvalidProtocolBufferException ex)
                {
                    var problem = ex.Message.Contains("UTF-8", StringComparison.Ordinal)
                        ? "request contains a string field that is not valid UTF-8"
                        : "request message is malformed";
                    context.Response.ContentType = "application/grpc";
                    context.Response.Headers["grpc-status"] = "3";
                    context.Response.Headers["grpc-message"] = Uri.EscapeDataString(problem);
                    return;
                }
            }
        }

        await next(context);
    }

    private static Dictionary<string, MessageParser> BuildParsers()
    {
        var parsers = new Dictionary<string, MessageParser>(StringComparer.Ordinal);
        foreach (var file in new[] { SlmReflection.Descriptor, PolicyReflection.Descriptor, ShepherdReflection.Descriptor })
        {
            foreach (var service in file.Services)
            {
                foreach (MethodDescriptor method in service.Methods)
                {
                    if (!method.IsClientStreaming)
                    {
                        parsers[$"/{service.FullName}/{method.Name}"] = method.InputType.Parser;
                    }
                }
            }
        }

        return parsers;
    }
}
