using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;

namespace Shepherd.EndToEnd.Tests;

/// <summary>What a raw gRPC call answered: the status and the grpc-message exactly as it was on the wire.</summary>
public sealed record WireAnswer(StatusCode Status, string RawMessage, HttpStatusCode HttpStatus);

/// <summary>
/// gRPC over HTTP/2 with prior knowledge, framed by hand, so a test can send what no generated client would:
/// random bytes, a wrong compressed flag, a frame shorter than its header says.
/// </summary>
public sealed class GrpcWire : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { EnableMultipleHttp2Connections = true })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    public static byte[] Frame(ReadOnlySpan<byte> message, byte flag = 0, int? declaredLength = null)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)(declaredLength ?? message.Length));
        message.CopyTo(frame.AsSpan(5));
        return frame;
    }

    public async Task<WireAnswer> CallAsync(Uri address, string path, byte[] body, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        // A call that would generate for long ends with DEADLINE_EXCEEDED, a defined status.
        request.Headers.TryAddWithoutValidation("grpc-timeout", "10S");
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
        var status = Header(response, "grpc-status");
        var message = Header(response, "grpc-message") ?? "";
        if (status is null)
        {
            return new WireAnswer((StatusCode)(-1), message, response.StatusCode);
        }

        return new WireAnswer((StatusCode)int.Parse(status, CultureInfo.InvariantCulture), message, response.StatusCode);
    }

    public void Dispose() => _http.Dispose();

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.First()
        : response.TrailingHeaders.TryGetValues(name, out var trailing) ? trailing.First()
        : null;
}
