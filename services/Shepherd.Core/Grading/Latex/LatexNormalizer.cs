using System.Text;
using System.Text.RegularExpressions;

namespace Shepherd.Core.Grading.Latex;

/// <summary>
/// Rewrites a LaTeX answer into one spelling so equal answers compare equal as strings: math delimiters,
/// <c>\text{}</c> wrappers, <c>\left</c>/<c>\right</c>, <c>\dfrac</c>/<c>\tfrac</c>, spacing commands, degrees,
/// relation spellings (<c>\leqslant</c>, <c>\le</c>, ≤ → <c>&lt;=</c>), "or"/"and" between parts (→ ","),
/// trailing periods and units after a plain number ("840 people" → "840"). Whitespace is removed last.
/// </summary>
public static partial class LatexNormalizer
{
    private static readonly string[] Unwrapped = ["\\text", "\\textbf", "\\textit", "\\mathrm", "\\mathbf", "\\mathit", "\\operatorname", "\\mbox", "\\boldsymbol"];

    private static readonly (string From, string To)[] Replacements =
    [
        ("\\displaystyle", ""), ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\dbinom", "\\binom"),
        ("\\left.", ""), ("\\right.", ""), ("\\left", ""), ("\\right", ""), ("\\bigl", ""), ("\\bigr", ""),
        ("^{\\circ}", ""), ("^\\circ", ""), ("\\circ", ""), ("\\degree", ""), ("°", ""),
        ("\\leqslant", "<="), ("\\geqslant", ">="), ("\\leq", "<="), ("\\geq", ">="), ("\\neq", "!="),
        ("\\le", "<="), ("\\ge", ">="), ("\\ne", "!="), ("\\lt", "<"), ("\\gt", ">"), ("≤", "<="), ("≥", ">="), ("≠", "!="),
        ("\\%", ""), ("%", ""), ("\\$", ""), ("\\_", "_"), ("\\{", "\u27E8"), ("\\}", "\u27E9"),
        ("\\cdot", "*"), ("\\times", "*"), ("×", "*"), ("\\div", "/"), ("\\ast", "*"),
        ("\\qquad", " "), ("\\quad", " "), ("\\,", " "), ("\\;", " "), ("\\:", " "), ("\\!", ""), ("\\ ", " "), ("~", " "),
        ("−", "-"), ("π", "\\pi"), ("∞", "\\infty"), ("√", "\\sqrt"), ("∪", "\\cup"), ("∩", "\\cap"),
    ];

    /// <summary>The normalised form; an empty string when nothing remains.</summary>
    public static string Normalize(string answer)
    {
        var text = answer.Trim();
        text = StripDelimiters(text);
        foreach (var command in Unwrapped)
        {
            text = UnwrapCommand(text, command);
        }

        // Relations and words first, while spaces still separate them from neighbouring letters.
        foreach (var (from, to) in Replacements)
        {
            text = text.Replace(from, to, StringComparison.Ordinal);
        }

        text = PartSeparator().Replace(text, ",");
        text = Whitespace().Replace(text, "");
        text = text.Replace("\u27E8", "\\{", StringComparison.Ordinal).Replace("\u27E9", "\\}", StringComparison.Ordinal);
        text = ShortFrac().Replace(text, "\\frac{$1}{$2}");
        text = ShortSqrt().Replace(text, "\\sqrt{$1}");
        text = text.Replace("+\\infty", "\\infty", StringComparison.Ordinal);
        // A trailing LaTeX line break or sentence period carries no meaning.
        text = text.Trim(',', ';').TrimEnd('.', '\\');
        text = StripOuterBraces(text);
        var unit = NumberWithUnit().Match(text);
        if (unit.Success)
        {
            text = unit.Groups[1].Value;
        }

        return text;
    }

    /// <summary>Replaces <c>\cmd{x}</c> by <c>x</c> (balanced braces).</summary>
    internal static string UnwrapCommand(string text, string command)
    {
        var builder = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var at = text.IndexOf(command, i, StringComparison.Ordinal);
            if (at < 0)
            {
                builder.Append(text, i, text.Length - i);
                break;
            }

            var after = at + command.Length;
            // \text must not match the start of \textbf: the next char must not be a letter.
            if (after < text.Length && char.IsLetter(text[after]))
            {
                builder.Append(text, i, after - i);
                i = after;
                continue;
            }

            var open = after;
            while (open < text.Length && text[open] == ' ')
            {
                open++;
            }

            if (open >= text.Length || text[open] != '{' || BalancedGroup.Close(text, open) is not { } close)
            {
                builder.Append(text, i, after - i);
                i = after;
                continue;
            }

            builder.Append(text, i, at - i).Append(' ').Append(text, open + 1, close - open - 1).Append(' ');
            i = close + 1;
        }

        return builder.ToString();
    }

    private static string StripDelimiters(string text)
    {
        text = text.Trim();
        foreach (var (open, close) in new[] { ("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]") })
        {
            if (text.Length >= open.Length + close.Length && text.StartsWith(open, StringComparison.Ordinal) && text.EndsWith(close, StringComparison.Ordinal))
            {
                text = text[open.Length..^close.Length].Trim();
            }
        }

        return text.Replace("$", "", StringComparison.Ordinal);
    }

    private static string StripOuterBraces(string text)
    {
        while (text.Length >= 2 && text[0] == '{' && BalancedGroup.Close(text, 0) == text.Length - 1)
        {
            text = text[1..^1];
        }

        return text;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"\s*,?\s*(?<![A-Za-z\\])(?:or|and)(?![A-Za-z])\s*", RegexOptions.IgnoreCase)]
    private static partial Regex PartSeparator();

    [GeneratedRegex(@"\\frac(\d)(\d)")]
    private static partial Regex ShortFrac();

    [GeneratedRegex(@"\\sqrt(\d+|[a-zA-Z])")]
    private static partial Regex ShortSqrt();

    [GeneratedRegex(@"^(-?(?:\d+(?:\.\d+)?|\.\d+))(?:[A-Za-z]{2,}(?:\^?\d)?|[^\x00-\x7F]+)$")]
    private static partial Regex NumberWithUnit();
}
