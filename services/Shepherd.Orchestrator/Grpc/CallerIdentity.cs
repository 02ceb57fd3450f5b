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

    public Caller Resolve(ServerCallContext context)
    {
        var headers = context.RequestHeaders;
        var keyId = headers.GetValue(SignedIdentity.KeyIdHeader) ?? "";
        var adminHeader = headers.GetValue(SignedIdentity.AdminHeader);
        var signature = headers.GetValue(SignedIdentity.SignatureHeader) ?? "";
        if (keyId.Length == 0 && adminHeader is null && signature.Length == 0)
        {
            return options.Value.RequireIdentity
                ? throw Refuse(context, "no caller identity: this orchestrator serves only calls through the edge")
                : Caller.Anonymous;
        }

        if (keyId.Length == 0)
        {
            throw Refuse(context, "identity headers without a key id");
        }

        if (_key is null)
        {
            throw Refuse(context, "the caller identity cannot be verified: this orchestrator has no Identity:SigningKey");
        }

        if (signature.Length == 0)
        {
            throw Refuse(context, "the caller identity is not signed");
        }

        var admin = adminHeader == "true";
        if (SignedIdentity.Verify(_key, keyId, admin, signature, time.GetUtcNow(), _maxSkew) is { } problem)
        {
            throw Refuse(context, problem);
        }

        return new Caller(keyId, admin, ViaEdge: true);
    }

    private RpcException Refuse(ServerCallContext context, string reason)
    {
        OrchestratorLog.IdentityRefused(logger, context.Method, reason);
        return new RpcException(new Status(StatusCode.Unauthenticated, reason));
    }
}
