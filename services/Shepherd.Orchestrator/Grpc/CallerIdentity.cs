using Grpc.Core;
using Microsoft.Extensions.Options;
using Shepherd.ServiceDefaults.Identity;

namespace Shepherd.Orchestrator.Grpc;

/// <summary>Who a call is from: a key id the edge vouched for, or an internal caller without one ("anonymous").</summary>
public sealed record Caller(string KeyId, bool Admin, bool ViaEdge)
{
    public static Caller Anonymous { get; } = new("anonymous", Admin: false, ViaEdge: false);
}

/// <summary>
/// Trusts an identity only with the edge's signature (<see cref="SignedIdentity"/>): an identity that is unsigned,
/// forged, for another admin flag, stale beyond Identity:MaxSkewSeconds, or that arrives while this orchestrator has
/// no key to check it with is refused with UNAUTHENTICATED. A call without any identity is an internal caller, unless
/// Identity:RequireIdentity says every call must come through the edge.
/// </summary>
public sealed class CallerIdentity(IOptions<IdentityOptions> options, TimeProvider time, ILogger<CallerIdentity> logger)
{
    private readonly byte[]? _key = options.Value.KeyBytes();
    private readonly TimeSpan _maxSkew = TimeSpan.FromSeconds(options.Value.MaxSkewSeconds);

    public Caller Resolve(ServerCallContext context) => Resolve(context.Method, context.RequestHeaders.GetValue);

    /// <summary>The same check for the OpenAI-compatible HTTP API (the edge forwards the same signed headers).</summary>
    public Caller Resolve(HttpContext http) =>
        Resolve(http.Request.Path, name => http.Request.Headers.TryGetValue(name, out var value) ? value.ToString() : null);

    private Caller Resolve(string method, Func<string, string?> header)
    {
        var keyId = header(SignedIdentity.KeyIdHeader) ?? "";
        var adminHeader = header(SignedIdentity.AdminHeader);
        var signature = header(SignedIdentity.SignatureHeader) ?? "";
        if (keyId.Length == 0 && adminHeader is null && signature.Length == 0)
        {
            return options.Value.RequireIdentity
                ? throw Refuse(method, "no caller identity: this orchestrator serves only calls through the edge")
                : Caller.Anonymous;
        }

        if (keyId.Length == 0)
        {
            throw Refuse(method, "identity headers without a key id");
        }

        if (_key is null)
        {
            throw Refuse(method, "the caller identity cannot be verified: this orchestrator has no Identity:SigningKey");
        }

        if (signature.Length == 0)
        {
            throw Refuse(method, "the caller identity is not signed");
        }

        var admin = adminHeader == "true";
        if (SignedIdentity.Verify(_key, keyId, admin, signature, time.GetUtcNow(), _maxSkew) is { } problem)
        {
            throw Refuse(method, problem);
        }

        return new Caller(keyId, admin, ViaEdge: true);
    }

    private RpcException Refuse(string method, string reason)
    {
        OrchestratorLog.IdentityRefused(logger, method, reason);
        return new RpcException(new Status(StatusCode.Unauthenticated, reason));
    }
}
