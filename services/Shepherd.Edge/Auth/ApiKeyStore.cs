using System.Security.Cryptography;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Shepherd.Edge.Auth;

/// <summary>A configured key: its id, its role, and its own token bucket.</summary>
internal sealed record ApiKeyEntry(string Id, bool Admin, byte[] Hash, RateLimiter Limiter);

/// <summary>
/// The configured keys, by hash. A presented key is hashed and compared with every stored hash in constant time,
/// so neither the comparison nor the position of a match shows in the response time.
/// </summary>
internal sealed class ApiKeyStore : IDisposable
{
    private readonly ApiKeyEntry[] _keys;

    public ApiKeyStore(IOptions<EdgeOptions> options)
    {
        _keys = options.Value.ApiKeys
            .Select(k => new ApiKeyEntry(k.Id, k.Admin, Convert.FromHexString(k.Sha256), CreateLimiter(k)))
            .ToArray();
        PublicLimiter = CreateLimiter(options.Value.PublicRateLimit);
    }

    /// <summary>The bucket shared by unauthenticated callers of Public routes.</summary>
    public RateLimiter PublicLimiter { get; }

    public ApiKeyEntry? Authenticate(ReadOnlySpan<char> presented)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        ApiKeyHasher.HashInto(presented, hash);
        ApiKeyEntry? match = null;
        foreach (var key in _keys)
        {
            // No early exit: every stored hash is compared.
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash))
            {
                match = key;
            }
        }

        return match;
    }

    public void Dispose()
    {
        foreach (var key in _keys)
        {
            key.Limiter.Dispose();
        }

        PublicLimiter.Dispose();
    }

    private static TokenBucketRateLimiter CreateLimiter(RateLimitOptions limit) => new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = limit.Burst,
        TokensPerPeriod = limit.PermitsPerSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        AutoReplenishment = true,
        // Over the limit is answered at once; a queue would only hold a caller who is already too fast.
        QueueLimit = 0,
    });
}
