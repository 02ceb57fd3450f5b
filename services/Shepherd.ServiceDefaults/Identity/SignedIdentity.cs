using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Shepherd.ServiceDefaults.Identity;

/// <summary>
/// The caller identity the edge forwards and the orchestrator trusts only when signed: the key id, whether it is an
/// admin key, and <c>x-shepherd-identity: v1.&lt;unix seconds&gt;.&lt;base64url HMAC-SHA256&gt;</c> over
/// "v1\n{key id}\n{admin}\n{seconds}" with the shared key. A forged id, a flipped admin flag or an old signature fails.
/// </summary>
public static class SignedIdentity
{
    /// <summary>The authenticated key's id (its public name, never the key).</summary>
    public const string KeyIdHeader = "x-shepherd-api-key-id";

    /// <summary>"true" for an admin key.</summary>
    public const string AdminHeader = "x-shepherd-api-key-admin";

    public const string SignatureHeader = "x-shepherd-identity";

    private const string Version = "v1";

    public static string Sign(byte[] key, string keyId, bool admin, DateTimeOffset now)
    {
        var seconds = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"{Version}.{seconds}.{Mac(key, keyId, admin, seconds)}";
    }

    /// <summary>Null when the signature holds for this id and flag within <paramref name="maxSkew"/>; else why not.</summary>
    public static string? Verify(byte[] key, string keyId, bool admin, string signature, DateTimeOffset now, TimeSpan maxSkew)
    {
        var parts = signature.Split('.');
        if (parts.Length != 3 || parts[0] != Version || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return "malformed identity signature";
        }

        var expected = Encoding.ASCII.GetBytes(Mac(key, keyId, admin, parts[1]));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(parts[2])))
        {
            return "identity signature does not match";
        }

        var skew = Math.Abs(now.ToUnixTimeSeconds() - seconds);
        return skew > maxSkew.TotalSeconds ? $"identity signature is stale ({skew} s from this host's clock; at most {maxSkew.TotalSeconds:0} s)" : null;
    }

    private static string Mac(byte[] key, string keyId, bool admin, string seconds)
    {
        var payload = Encoding.UTF8.GetBytes($"{Version}\n{keyId}\n{(admin ? "true" : "false")}\n{seconds}");
        return Convert.ToBase64String(HMACSHA256.HashData(key, payload)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
