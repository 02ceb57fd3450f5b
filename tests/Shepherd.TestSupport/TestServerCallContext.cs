using Grpc.Core;

namespace Shepherd.TestSupport;

/// <summary>
/// A ServerCallContext for calling a gRPC service's methods directly, without a server or a socket (as
/// grpc-dotnet's own tests do with Grpc.Core.Testing's TestServerCallContext): the caller's headers, deadline and
/// cancellation in; status and trailers out.
/// </summary>
public sealed class TestServerCallContext(Metadata requestHeaders, DateTime deadline, CancellationToken cancellationToken, string method = "/test") : ServerCallContext
{
    private readonly Metadata _responseTrailers = [];
    private Status _status;
    private WriteOptions? _writeOptions;

    public static TestServerCallContext Create(Metadata? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default) =>
        new(headers ?? [], deadline ?? DateTime.MaxValue, cancellationToken);

    public Metadata? ResponseHeaders { get; private set; }

    protected override string MethodCore => method;

    protected override string HostCore => "localhost";

    protected override string PeerCore => "ipv4:127.0.0.1:0";

    protected override DateTime DeadlineCore => deadline;

    protected override Metadata RequestHeadersCore => requestHeaders;

    protected override CancellationToken CancellationTokenCore => cancellationToken;

    protected override Metadata ResponseTrailersCore => _responseTrailers;

    protected override Status StatusCore
    {
        get => _status;
        set => _status = value;
    }

    protected override WriteOptions? WriteOptionsCore
    {
        get => _writeOptions;
        set => _writeOptions = value;
    }

    protected override AuthContext AuthContextCore => new(null, []);

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("no propagation in tests");

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders)
    {
        ResponseHeaders = responseHeaders;
        return Task.CompletedTask;
    }
}

/// <summary>Collects what a server-streaming method writes.</summary>
public sealed class TestServerStreamWriter<T> : IServerStreamWriter<T>
{
    private readonly List<T> _written = [];

    public IReadOnlyList<T> Written => _written;

    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(T message)
    {
        _written.Add(message);
        return Task.CompletedTask;
    }
}
