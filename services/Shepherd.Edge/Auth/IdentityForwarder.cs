using Microsoft.Extensions.Options;
using Shepherd.ServiceDefaults.Identity;

namespace Shepherd.Edge.Auth;

/// <summary>
/// The one place the edge says who a request is from: it drops whatever identity headers a client sent and sets the
/// authenticated key id, its admin flag and their signature (<see cref="SignedIdentity"/>). Every edge endpoint that
/// forwards a caller (the gRPC routes, an HTTP API) goes through it, so the orchestrator sees one format.
/// </summary>
internal sealed class IdentityForwarder
{
    private readonly byte[]? _key;
    private readonly TimeProvider _time;

    public IdentityForwarder(IOptions<IdentityOptions> options, TimeProvider time, ILogger<IdentityForwarder> logger)
    {
        _key = options.Value.KeyBytes();
        _time = time;
        if (_key is null)
        {
            EdgeLog.IdentityUnsigned(logger);
        }
    }

    public bool Signs => _key is not null;

    /// <summary>Client copies of the identity headers never pass.</summary>
    public static void Strip(IHeaderDictionary headers)
    {
        headers.Remove(SignedIdentity.KeyIdHeader);
        headers.Remove(SignedIdentity.AdminHeader);
        headers.Remove(SignedIdentity.SignatureHeader);
    }

    public void Forward(IHeaderDictionary headers, string keyId, bool admin)
    {
        Strip(headers);
        headers[SignedIdentity.KeyIdHeader] = keyId;
        if (admin)
        {
            headers[SignedIdentity.AdminHeader] = "true";
        }

        if (_key is not null)
        {
            headers[SignedIdentity.SignatureHeader] = SignedIdentity.Sign(_key, keyId, admin, _time.GetUtcNow());
        }
    }
}
