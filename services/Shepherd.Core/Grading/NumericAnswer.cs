using System.Globalization;
using System.Text.RegularExpressions;

namespace Shepherd.Core.Grading;

/// <summary>
/// GSM8K-style numeric answers: the number after <c>####</c> in references; in model outputs the stated answer
/// (<c>####</c>, <c>\boxed{}</c>, "the answer is", "Answer:") or else the last number. Tolerates commas,
/// <c>$</c>, units, trailing periods and percent signs. A fraction ("1/2."), a mixed number ("3 1/2") or a LaTeX
/// fraction (<c>\frac{1}{2}</c>, <c>\dfrac</c>, <c>\tfrac</c>) reads as its value. The key is the canonical decimal
/// ("1,200.50" → "1200.5", "3 1/2" → "3.5").
/// </summary>
public static partial class NumericAnswer
{
    private const decimal Tolerance = 0.000001m;

    /// <summary>The number after the last <c>####</c> of a GSM8K reference, or none.</summary>
    public static ExtractedAnswer FromReference(string reference)
    {
        var marker = reference.LastIndexOf("####", StringComparison.Ordinal);
        var tail = RewriteLatexFractions(marker >= 0 ? reference[(marker + 4)..] : reference);
        var match = NumberPattern().Match(tail);
        return match.Success ? Make(match.Value) : ExtractedAnswer.None;
    }

    /// <summary>The stated final number of a model output, else its last number, or none.</summary>
    public static ExtractedAnswer FromOutput(string output)
    {
        var text = RewriteLatexFractions(CutHallucinatedShot(output));
        Match? lastMarker = null;
        foreach (Match marker in AnswerMarker().Matches(text))
        {
            var tail = TailAfter(text, marker);
            if (NumberPattern().IsMatch(tail))
            {
                lastMarker = marker;
            }
        }

        if (lastMarker is not null)
        {
            return Make(NumberPattern().Match(TailAfter(text, lastMarker)).Value);
        }

        var numbers = NumberPattern().Matches(text);
        return numbers.Count > 0 ? Make(numbers[^1].Value) : ExtractedAnswer.None;
    }

    /// <summary>The canonical decimal form of a number as written, or null when it is not a number.</summary>
    public static string? Canonicalize(string text)
    {
        var value = Parse(text);
        return value is null ? null : Format(value.Value);
    }

    /// <summary>Parses "1,234.50", "$12", "-3", "45%", "7.", fractions "3/4" and mixed numbers "3 1/2" (a proper
    /// fraction after a whole number, so "2 10/5" is not one).</summary>
    public static decimal? Parse(string text)
    {
        var mixed = MixedNumber().Match(text.Trim());
        if (mixed.Success)
        {
            return ParseMixed(mixed);
        }

        var cleaned = text.Trim().Replace(",", "", StringComparison.Ordinal).Replace("$", "", StringComparison.Ordinal)
            .Replace("%", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).TrimEnd('.');
        var slash = cleaned.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0)
        {
            if (decimal.TryParse(cleaned[..slash], NumberStyles.Float, CultureInfo.InvariantCulture, out var n)
                && decimal.TryParse(cleaned[(slash + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d != 0)
            {
                return Math.Round(n / d, 12);
            }

            return null;
        }

        return decimal.TryParse(cleaned, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    /// <summary>True when both parse as numbers within 1e-6 of each other.</summary>
    public static bool AreEqual(string? left, string? right)
    {
        if (left is null || right is null)
        {
            return false;
        }

        var a = Parse(left);
        var b = Parse(right);
        return a is not null && b is not null && Math.Abs(a.Value - b.Value) <= Tolerance;
    }

    internal static string Format(decimal value)
    {
        var rounded = Math.Round(value, 9);
        var text = rounded.ToString("0.#########", CultureInfo.InvariantCulture);
        return text == "-0" ? "0" : text;
    }

    private static ExtractedAnswer Make(string raw)
    {
        var canonical = Canonicalize(raw);
        if (canonical is null && MixedNumber().Match(raw.Trim()) is { Success: true } improper)
        {
            // "Step 2 10/5": a whole number then an improper fraction is two numbers; the later one is the reading.
            return Make(improper.Groups["fraction"].Value);
        }

        return canonical is null ? ExtractedAnswer.None : new ExtractedAnswer(raw.Trim(), canonical);
    }

    private static decimal? ParseMixed(Match mixed)
    {
        var whole = decimal.Parse(mixed.Groups["whole"].Value, NumberStyles.Integer, CultureInfo.InvariantCulture);
        var numerator = decimal.Parse(mixed.Groups["num"].Value, NumberStyles.Integer, CultureInfo.InvariantCulture);
        var denominator = decimal.Parse(mixed.Groups["den"].Value, NumberStyles.Integer, CultureInfo.InvariantCulture);
        if (denominator == 0 || numerator >= denominator)
        {
            return null;
        }

        var magnitude = Math.Round(whole + (numerator / denominator), 12);
        return mixed.Groups["sign"].Success ? -magnitude : magnitude;
    }

    // \frac{1}{2} → 1/2; a whole number right before it ("3\frac{1}{2}") becomes a mixed number "3 1/2".
    private static string RewriteLatexFractions(string text) =>
        LatexFraction().Replace(text, m =>
        {
            var separator = m.Index > 0 && char.IsDigit(text[m.Index - 1]) ? " " : string.Empty;
            var sign = m.Groups["sign"].Success ? "-" : string.Empty;
            return $"{separator}{sign}{m.Groups["num"].Value}/{m.Groups["den"].Value}";
        });

    private static string TailAfter(string text, Match marker)
    {
        var start = marker.Index + marker.Length;
        var end = text.IndexOf('\n', start);
        var tail = end < 0 ? text[start..] : text[start..end];
        return tail.Length > 200 ? tail[..200] : tail;
    }

    // A few-shot prompt invites the model to write the next "Question:" itself; its numbers are not the answer.
    private static string CutHallucinatedShot(string output)
    {
        var cut = HallucinatedShot().Match(output);
        return cut.Success && cut.Index > 0 ? output[..cut.Index] : output;
    }

    [GeneratedRegex(@"(?<![\w.])-?\$?\s?\d+[ \t]+\d+\s?/\s?\d+(?!\d|[.,]\d)|(?<![\w.])-?\$?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?/\s?\d+(?!\d|[.,]\d))?|(?<![\w.])-?\.\d+")]
    private static partial Regex NumberPattern();

    [GeneratedRegex(@"^(?<sign>-)?\$?\s?(?<whole>\d+)\s+(?<fraction>(?<num>\d+)\s?/\s?(?<den>\d+))$")]
    private static partial Regex MixedNumber();

    [GeneratedRegex(@"(?<sign>-)?\\[dt]?frac\s*\{\s*(?<num>\d+)\s*\}\s*\{\s*(?<den>\d+)\s*\}")]
    private static partial Regex LatexFraction();

    [GeneratedRegex(@"####|\\boxed\s*\{|final\s+answer\s*(?:is|:|=)?|the\s+answer\s+is|\banswer\s*:|\banswer\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex AnswerMarker();

    [GeneratedRegex(@"\n\s*(?:Question|Instruction)\s*:", RegexOptions.IgnoreCase)]
    private static partial Regex HallucinatedShot();
}
