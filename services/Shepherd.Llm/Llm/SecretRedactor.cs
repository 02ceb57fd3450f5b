using System.Text.RegularExpressions;

namespace Shepherd.Llm;

/// <summary>
/// Makes upstream error text fit for a log line: bearer credentials, Groq (gsk_…) and OpenAI (sk-…) keys, any long
/// key-shaped token, and the configured key itself (wherever it appears, whatever its shape) become "[redacted]";
/// the result is cut short. Upstream bodies never reach a client at all; this only guards the logs.
/// </summary>
public sealed partial class SecretRedactor(string? configuredKey)
{
    public const string Redacted = "[redacted]";

    /// <summary>Longest reason kept for a log line.</summary>
    public const int MaxLength = 160;

    public string Redact(string text)
    {
        if (!string.IsNullOrEmpty(configuredKey))
        {
            text = text.Replace(configuredKey, Redacted, StringComparison.Ordinal);
        }

        text = Bearer().Replace(text, "Bearer " + Redacted);
        text = KnownKey().Replace(text, Redacted);
        text = KeyShaped().Replace(text, Redacted);
        text = text.ReplaceLineEndings(" ");
        return text.Length <= MaxLength ? text : text[..MaxLength] + "…";
    }

    [GeneratedRegex(@"Bearer\s+\S+", RegexOptions.IgnoreCase)]
    private static partial Regex Bearer();

    [GeneratedRegex(@"\b(?:gsk_|sk-|xai-|pk-|api[_-]?key[=:]\s*)\S*", RegexOptions.IgnoreCase)]
    private static partial Regex KnownKey();

    // A run of 20+ key characters holding both a letter and a digit: API keys, tokens, hashes. Plain words are
    // spared (no digit), and so are numbers (no letter).
    [GeneratedRegex(@"(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{20,}")]
    private static partial Regex KeyShaped();
}
