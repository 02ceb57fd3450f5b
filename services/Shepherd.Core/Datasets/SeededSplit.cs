using System.Security.Cryptography;
using System.Text;

namespace Shepherd.Core.Datasets;

/// <summary>
/// Deterministic splits that any language can reproduce: items are ordered by the lowercase hex SHA-256 of
/// UTF-8 "{seed}:{key}" and the order is cut into parts. No random generator is involved, so the split does
/// not depend on a runtime's RNG. Python: <c>sorted(keys, key=lambda k: hashlib.sha256(f"{seed}:{k}".encode()).hexdigest())</c>.
/// </summary>
public static class SeededSplit
{
    public static IReadOnlyList<T> Order<T>(IEnumerable<T> items, Func<T, string> key, string seed) =>
        items.Select(item => (Item: item, Hash: Hash(seed, key(item))))
            .OrderBy(x => x.Hash, StringComparer.Ordinal)
            .Select(x => x.Item)
            .ToList();

    public static string Hash(string seed, string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}:{key}")));
}
