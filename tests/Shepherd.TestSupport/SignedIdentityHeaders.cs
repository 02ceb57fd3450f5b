using System.Text;
using Grpc.Core;
using Shepherd.ServiceDefaults.Identity;

namespace Shepherd.TestSupport;

/// <summary>The headers the edge forwards for a key id, signed as the edge signs them (README, "Operate it").</summary>
public static class SignedIdentityHeaders
{
    /// <param name="signingKey">The stack's Identity:SigningKey.</param>
    /// <param name="at">When the edge signed them; now unless a test wants a stale or future identity.</param>
    public static Metadata For(string signingKey, string keyId, bool admin = false, DateTimeOffset? at = null)
    {
        var headers = new Metadata
        {
            { SignedIdentity.KeyIdHeader, keyId },
            { SignedIdentity.SignatureHeader, SignedIdentity.Sign(Encoding.UTF8.GetBytes(signingKey), keyId, admin, at ?? DateTimeOffset.UtcNow) },
        };
        if (admin)
        {
            headers.Add(SignedIdentity.AdminHeader, "true");
        }

        return headers;
    }
}
