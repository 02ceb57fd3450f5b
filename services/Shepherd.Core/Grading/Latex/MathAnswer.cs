using System.Text.RegularExpressions;

namespace Shepherd.Core.Grading.Latex;

/// <summary>Finds the final answer of a math solution: the last <c>\boxed{}</c> (balanced braces), else a stated
/// "final answer is …" / "answer: …", else nothing (a grader then fails the output).</summary>
public static partial class MathAnswer
{
    public static ExtractedAnswer Extract(string output)
    {
        var boxed = LastBoxed(output);
        if (boxed is not null)
        {
            return Make(boxed);
        }

        var stated = StatedAnswer().Matches(output);
        if (stated.Count > 0)
        {
            var text = stated[^1].Groups[1].Value.Trim().TrimEnd('.').Trim();
            if (text.Length > 0)
            {
                return Make(text);
            }
        }

        return ExtractedAnswer.None;
    }

    /// <summary>The content of the last <c>\boxed{…}</c> or <c>\fbox{…}</c>, or null.</summary>
    public static string? LastBoxed(string text)
    {
        var at = System.Math.Max(text.LastIndexOf("\\boxed", StringComparison.Ordinal), text.LastIndexOf("\\fbox", StringComparison.Ordinal));
        while (at >= 0)
        {
            var open = text.IndexOf('{', at);
            var between = open < 0 ? "" : text[at..open];
            if (open >= 0 && (between == "\\boxed" || between == "\\fbox" || between.TrimEnd() is "\\boxed" or "\\fbox")
                && BalancedGroup.Close(text, open) is { } close)
            {
                return text[(open + 1)..close].Trim();
            }

            // "\boxed 5" without braces.
            var bare = BareBoxed().Match(text, at);
            if (bare.Success && bare.Index == at)
            {
                return bare.Groups[1].Value;
            }

            at = at == 0 ? -1 : System.Math.Max(text.LastIndexOf("\\boxed", at - 1, StringComparison.Ordinal), text.LastIndexOf("\\fbox", at - 1, StringComparison.Ordinal));
        }

        return null;
    }

    private static ExtractedAnswer Make(string text) => new(text, MathEquivalence.Key(text));

    [GeneratedRegex(@"(?:final answer|the answer)\s*(?:is|:|=)\s*:?\s*(.+)", RegexOptions.IgnoreCase)]
    private static partial Regex StatedAnswer();

    [GeneratedRegex(@"\\boxed\s+([^\s$]+)")]
    private static partial Regex BareBoxed();
}
