using System.Security.Cryptography;
using System.Text;

namespace Shepherd.Edge.Auth;

/// <summary>What configuration stores instead of a key: the lowercase hex of SHA-256 over its UTF-8 bytes.</summary>
public static class ApiKeyHasher
{
    public static string Hash(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        HashInto(key, hash);
        return Convert.ToHexStringLower(hash);
    }

    internal static void HashInto(ReadOnlySpan<char> key, Span<byte> hash)
    {
        var max = Encoding.UTF8.GetMaxByteCount(key.Length);
        Span<byte> utf8 = max <= 512 ? stackalloc byte[max] : new byte[max];
        var length = Encoding.UTF8.GetBytes(key, utf8);
        SHA256.HashData(utf8[..length], hash);
        CryptographicOperations.ZeroMemory(utf8[..length]);
    }
}
