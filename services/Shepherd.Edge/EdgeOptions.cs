using System.Globalization;
using Microsoft.Extensions.Options;

namespace Shepherd.Edge;

/// <summary>The "Edge" configuration section. Routes, clusters and health checks live in "ReverseProxy".</summary>
public sealed class EdgeOptions
{
    public const string Section = "Edge";

    /// <summary>Accepted keys, stored as SHA-256 hashes (`Shepherd.Edge hash-key &lt;key&gt;` prints one).</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>One bucket shared by every caller of a route whose access is Public (reflection).</summary>
    public RateLimitOptions PublicRateLimit { get; set; } = new() { PermitsPerSecond = 20, Burst = 40 };

    /// <summary>
    /// How many other destinations a request may be sent to when connecting to the chosen one fails. Only a
    /// failed connect is retried: nothing reached the upstream, so nothing can run (or be billed) twice.
    /// </summary>
    public int ConnectRetries { get; set; } = 1;

    /// <summary>
    /// An extra listener that speaks HTTP/1.1 (e.g. http://0.0.0.0:8081): gRPC-Web and the OpenAI-compatible API for
    /// clients that cannot speak h2c. Empty: none. The --urls / ASPNETCORE_URLS ports stay HTTP/2 (gRPC).
    /// </summary>
    public string Http1Url { get; set; } = "";

    /// <summary>The port of an Http1Url, or null when none is set or it does not parse.</summary>
    public static int? Http1Port(string? url) =>
        !string.IsNullOrWhiteSpace(url) && Uri.TryCreate(url.Replace("*", "0.0.0.0", StringComparison.Ordinal).Replace("+", "0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri) && uri.Port > 0
            ? uri.Port
            : null;
}

public class RateLimitOptions
{
    /// <summary>Tokens added per second; the sustained rate.</summary>
    public int PermitsPerSecond { get; set; } = 20;

    /// <summary>Bucket size: requests that may arrive at once after an idle period.</summary>
    public int Burst { get; set; } = 40;
}

public sealed class ApiKeyOptions : RateLimitOptions
{
    /// <summary>The key's public name: forwarded as x-shepherd-api-key-id, logged, recorded in the ledger.</summary>
    public string Id { get; set; } = "";

    /// <summary>Lowercase or uppercase hex of SHA-256 over the key's UTF-8 bytes. Never the key itself.</summary>
    public string Sha256 { get; set; } = "";

    /// <summary>May call routes whose access is Admin (SlmService, PolicyService).</summary>
    public bool Admin { get; set; }
}

internal sealed class EdgeOptionsValidator : IValidateOptions<EdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeOptions options)
    {
        var failures = new List<string>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var hashes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i];
            var at = string.Create(CultureInfo.InvariantCulture, $"Edge:ApiKeys:{i}");
            if (string.IsNullOrWhiteSpace(key.Id))
            {
                failures.Add($"{at}:Id is required");
            }
            else if (!ids.Add(key.Id))
            {
                failures.Add($"{at}:Id '{key.Id}' is used twice");
            }

            // The message never echoes the configured value: it may be a key pasted by mistake.
            if (key.Sha256.Length != 64 || !key.Sha256.All(char.IsAsciiHexDigit))
            {
                failures.Add($"{at}:Sha256 must be 64 hex digits (run `Shepherd.Edge hash-key <key>`)");
            }
            else if (!hashes.Add(key.Sha256))
            {
                failures.Add($"{at}:Sha256 duplicates another key's hash");
            }

            Check(failures, at, key);
        }

        Check(failures, "Edge:PublicRateLimit", options.PublicRateLimit);
        if (options.Http1Url.Length > 0 && EdgeOptions.Http1Port(options.Http1Url) is null)
        {
            failures.Add("Edge:Http1Url must be an http://host:port URL with an explicit port (e.g. http://0.0.0.0:8081)");
        }

        if (options.ConnectRetries is < 0 or > 8)
        {
            failures.Add("Edge:ConnectRetries must be between 0 and 8");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(List<string> failures, string at, RateLimitOptions limit)
    {
        if (limit.PermitsPerSecond < 1)
        {
            failures.Add($"{at}:PermitsPerSecond must be at least 1");
        }

        if (limit.Burst < 1)
        {
            failures.Add($"{at}:Burst must be at least 1");
        }
    }
}
