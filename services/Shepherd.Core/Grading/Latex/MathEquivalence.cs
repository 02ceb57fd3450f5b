using System.Globalization;
using System.Text.RegularExpressions;

namespace Shepherd.Core.Grading.Latex;

public enum Equivalence
{
    Equivalent,
    NotEquivalent,

    /// <summary>Neither proved equal nor proved different; graders fail closed on it.</summary>
    Undecidable,
}

/// <summary>The verdict of <see cref="MathEquivalence.Compare"/> and why.</summary>
public sealed record EquivalenceResult(Equivalence Verdict, string Reason);

/// <summary>
/// Decides whether two math answers are the same. In order: equal after <see cref="LatexNormalizer"/>; multiple
/// choice letters (as sets); "name = value" against "value"; intervals and unions (bracket kinds and endpoints);
/// sets (unordered); tuples and multi-part answers (in order); numbers and arithmetic (relative tolerance 1e-6,
/// so fractions meet decimals); symbolic expressions and equations by evaluation at fixed pseudo-random points.
/// Anything else that differs as text is <see cref="Equivalence.Undecidable"/>.
/// </summary>
public static partial class MathEquivalence
{
    private const double RelativeTolerance = 1e-6;
    private const double AbsoluteTolerance = 1e-9;
    private const int SamplePoints = 6;

    public static EquivalenceResult Compare(string reference, string candidate) =>
        CompareNormalized(LatexNormalizer.Normalize(reference), LatexNormalizer.Normalize(candidate), depth: 0);

    /// <summary>A key equal for answers this class would find equal in the common cases: numbers are
    /// evaluated and printed canonically, everything else is the normalised text.</summary>
    public static string Key(string answer)
    {
        var normalized = LatexNormalizer.Normalize(answer);
        normalized = StripChoiceContent(StripName(normalized));
        var parts = SplitTopLevel(normalized, ',');
        if (parts.Count > 1 && !IsThousands(normalized))
        {
            return string.Join(",", parts.Select(KeyOfScalar));
        }

        return KeyOfScalar(normalized);
    }

    private static string KeyOfScalar(string normalized)
    {
        var expression = IsThousands(normalized) ? MathExpression.TryParse(normalized.Replace(",", "", StringComparison.Ordinal)) : MathExpression.TryParse(normalized);
        if (expression is { IsConstant: true } && expression.Evaluate() is var value && double.IsFinite(value))
        {
            return FormatNumber(value);
        }

        return normalized;
    }

    internal static string FormatNumber(double value)
    {
        var rounded = System.Math.Abs(value) < 1e-12 ? 0 : double.Parse(value.ToString("G10", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return rounded.ToString("R", CultureInfo.InvariantCulture);
    }

    private static EquivalenceResult CompareNormalized(string a, string b, int depth)
    {
        if (a == b)
        {
            return Equal(a.Length == 0 ? "both empty" : "identical after normalisation");
        }

        if (a.Length == 0 || b.Length == 0)
        {
            return Different("one answer is empty");
        }

        if (depth > 8)
        {
            return Undecided("nesting too deep");
        }

        // Multiple choice: "BC", "C,D", "\text{C and D}" are the same letter set.
        if (ChoiceLetters(a) is { } lettersA && ChoiceLetters(b) is { } lettersB)
        {
            return lettersA.SetEquals(lettersB) ? Equal("same choice letters") : Different("different choice letters");
        }

        // "A: \frac{\sqrt5}{5}" against "A" or against "\frac{\sqrt5}{5}".
        if (ChoicePrefix().IsMatch(a) || ChoicePrefix().IsMatch(b))
        {
            var (letterA, restA) = SplitChoice(a);
            var (letterB, restB) = SplitChoice(b);
            if (letterA is not null && letterB is not null)
            {
                return letterA == letterB ? CompareNormalized(restA, restB, depth + 1) : Different("different choice letters");
            }

            var bare = letterA is null ? a : b;
            var letter = letterA ?? letterB!;
            if (bare.Length == 1 && char.IsAsciiLetterUpper(bare[0]))
            {
                return bare == letter ? Equal("same choice letter") : Different("different choice letters");
            }

            return CompareNormalized(letterA is null ? a : restA, letterB is null ? b : restB, depth + 1);
        }

        // Two equations: equal when one is a multiple of the other ("3x-y-9=0" is "y=3x-9").
        if (a.Count(c => c == '=') == 1 && b.Count(c => c == '=') == 1 && CompareEquations(a, b) is { } equations)
        {
            return equations;
        }

        // "x = 3" against "3", "T_n = \frac{2n}{2n+1}" against "\frac{2n}{2n+1}".
        var nameA = NamePrefix(a);
        var nameB = NamePrefix(b);
        if (nameA is not null || nameB is not null)
        {
            if (nameA is not null && nameB is not null && nameA.Value.Name != nameB.Value.Name)
            {
                return CompareEquations(a, b) ?? Undecided("different names on the left of '='");
            }

            return CompareNormalized(nameA?.Value ?? a, nameB?.Value ?? b, depth + 1);
        }

        if (IsThousands(a) || IsThousands(b))
        {
            return CompareNormalized(IsThousands(a) ? a.Replace(",", "", StringComparison.Ordinal) : a,
                IsThousands(b) ? b.Replace(",", "", StringComparison.Ordinal) : b, depth + 1);
        }

        // ±x is the two-part answer x, −x.
        if (a.StartsWith("\\pm", StringComparison.Ordinal) || b.StartsWith("\\pm", StringComparison.Ordinal))
        {
            return CompareNormalized(ExpandPlusMinus(a), ExpandPlusMinus(b), depth + 1);
        }

        var unionA = SplitTopLevel(a, "\\cup");
        var unionB = SplitTopLevel(b, "\\cup");
        if (unionA.Count > 1 || unionB.Count > 1)
        {
            return ComparePartwise(unionA, unionB, "union", depth);
        }

        var setA = SetElements(a);
        var setB = SetElements(b);
        if (setA is not null || setB is not null)
        {
            return setA is not null && setB is not null ? CompareSets(setA, setB, depth) : Undecided("a set against a non-set");
        }

        var intervalA = Interval(a);
        var intervalB = Interval(b);
        if (intervalA is not null && intervalB is not null)
        {
            if (intervalA.Value.Parts.Count != intervalB.Value.Parts.Count)
            {
                return Different("different number of components");
            }

            if (intervalA.Value.Open != intervalB.Value.Open || intervalA.Value.Close != intervalB.Value.Close)
            {
                return Different($"different brackets: {intervalA.Value.Open}…{intervalA.Value.Close} vs {intervalB.Value.Open}…{intervalB.Value.Close}");
            }

            return ComparePartwise(intervalA.Value.Parts, intervalB.Value.Parts, "interval/tuple", depth);
        }

        if (intervalA is not null || intervalB is not null)
        {
            // "(2)" is a parenthesised scalar; anything else is a tuple against a scalar.
            var scalarA = intervalA is { Parts.Count: 1, Open: '(' } ? intervalA.Value.Parts[0] : intervalA is null ? a : null;
            var scalarB = intervalB is { Parts.Count: 1, Open: '(' } ? intervalB.Value.Parts[0] : intervalB is null ? b : null;
            if (scalarA is null || scalarB is null)
            {
                return CompareScalars(a, b) is { Verdict: Equivalence.Equivalent } same ? same : Different("an interval or tuple against a scalar");
            }
        }

        var partsA = SplitTopLevel(a, ',');
        var partsB = SplitTopLevel(b, ',');
        if (partsA.Count > 1 || partsB.Count > 1)
        {
            return ComparePartwise(partsA, partsB, "multi-part answer", depth);
        }

        return CompareScalars(a, b);
    }

    private static EquivalenceResult ComparePartwise(IReadOnlyList<string> a, IReadOnlyList<string> b, string what, int depth)
    {
        if (a.Count != b.Count)
        {
            return Different($"{what}: {a.Count} parts against {b.Count}");
        }

        var undecided = false;
        for (var i = 0; i < a.Count; i++)
        {
            var part = CompareNormalized(a[i], b[i], depth + 1);
            if (part.Verdict == Equivalence.NotEquivalent)
            {
                return Different($"{what}: part {i + 1} differs ({part.Reason})");
            }

            undecided |= part.Verdict == Equivalence.Undecidable;
        }

        return undecided ? Undecided($"{what}: some parts undecidable") : Equal($"{what}: all {a.Count} parts equivalent in order");
    }

    private static EquivalenceResult CompareSets(IReadOnlyList<string> a, IReadOnlyList<string> b, int depth)
    {
        var remaining = b.ToList();
        foreach (var element in a)
        {
            var match = remaining.FindIndex(other => CompareNormalized(element, other, depth + 1).Verdict == Equivalence.Equivalent);
            if (match < 0)
            {
                return remaining.Any(other => CompareNormalized(element, other, depth + 1).Verdict == Equivalence.Undecidable)
                    ? Undecided("set element undecidable")
                    : Different($"set element {element} has no match");
            }

            remaining.RemoveAt(match);
        }

        return remaining.Count == 0 ? Equal("same set") : Different("sets of different sizes");
    }

    private static EquivalenceResult CompareScalars(string a, string b)
    {
        var left = MathExpression.TryParse(a);
        var right = MathExpression.TryParse(b);
        if (left is null || right is null)
        {
            if (HasRelation(a) || HasRelation(b))
            {
                return CompareEquations(a, b) ?? Undecided("relations that differ as text");
            }

            return IsPlainNumber(a) && IsPlainNumber(b) ? Different("different numbers") : Undecided("not arithmetic, and different as text");
        }

        if (left.IsConstant && right.IsConstant)
        {
            var x = left.Evaluate();
            var y = right.Evaluate();
            if (!double.IsFinite(x) || !double.IsFinite(y))
            {
                return Undecided("a value is not finite");
            }

            return Close(x, y) ? Equal($"numerically equal ({FormatNumber(x)})") : Different($"{FormatNumber(x)} ≠ {FormatNumber(y)}");
        }

        return CompareBySampling(left, right, ratio: false) switch
        {
            Equivalence.Equivalent => Equal("equal at every sampled point"),
            Equivalence.NotEquivalent => Different("differ at a sampled point"),
            _ => Undecided("too few points where both are defined"),
        };
    }

    // Equations are equal when (lhs − rhs) of one is a non-zero multiple of the other's: "3x−y−9=0" is "y=3x−9".
    private static EquivalenceResult? CompareEquations(string a, string b)
    {
        var sidesA = a.Split('=');
        var sidesB = b.Split('=');
        if (sidesA.Length != 2 || sidesB.Length != 2 || HasInequality(a) || HasInequality(b))
        {
            return null;
        }

        var differenceA = MathExpression.TryParse($"({sidesA[0]})-({sidesA[1]})");
        var differenceB = MathExpression.TryParse($"({sidesB[0]})-({sidesB[1]})");
        if (differenceA is null || differenceB is null)
        {
            return null;
        }

        return CompareBySampling(differenceA, differenceB, ratio: true) switch
        {
            Equivalence.Equivalent => Equal("equations are multiples of each other"),
            Equivalence.NotEquivalent => Different("equations differ"),
            _ => null,
        };
    }

    private static Equivalence CompareBySampling(MathExpression left, MathExpression right, bool ratio)
    {
        var names = left.Variables.Union(right.Variables).Order(StringComparer.Ordinal).ToArray();
        // Fixed seed: the same pair always gets the same verdict.
        var random = new Random(20240611);
        var defined = 0;
        double? factor = null;
        for (var attempt = 0; attempt < SamplePoints * 3 && defined < SamplePoints; attempt++)
        {
            var point = names.ToDictionary(n => n, _ => 0.3 + 2.4 * random.NextDouble());
            var x = left.Evaluate(point);
            var y = right.Evaluate(point);
            if (!double.IsFinite(x) || !double.IsFinite(y))
            {
                continue;
            }

            defined++;
            if (ratio)
            {
                if (System.Math.Abs(y) < AbsoluteTolerance)
                {
                    if (System.Math.Abs(x) >= 1e-7)
                    {
                        return Equivalence.NotEquivalent;
                    }

                    continue;
                }

                factor ??= x / y;
                if (System.Math.Abs(factor.Value) < AbsoluteTolerance || !Close(x, factor.Value * y))
                {
                    return Equivalence.NotEquivalent;
                }
            }
            else if (!Close(x, y))
            {
                return Equivalence.NotEquivalent;
            }
        }

        return defined >= 3 ? Equivalence.Equivalent : Equivalence.Undecidable;
    }

    private static bool Close(double x, double y) =>
        System.Math.Abs(x - y) <= System.Math.Max(AbsoluteTolerance, RelativeTolerance * System.Math.Max(System.Math.Abs(x), System.Math.Abs(y)));

    private static HashSet<char>? ChoiceLetters(string text)
    {
        var letters = text.Replace(",", "", StringComparison.Ordinal);
        if (letters.Length is 0 or > 5 || !letters.All(c => c is >= 'A' and <= 'E'))
        {
            return null;
        }

        return [.. letters];
    }

    private static (string? Letter, string Remainder) SplitChoice(string text)
    {
        var match = ChoicePrefix().Match(text);
        return match.Success ? (match.Groups[1].Value, text[match.Length..]) : (null, text);
    }

    private static string StripChoiceContent(string text)
    {
        var match = ChoicePrefix().Match(text);
        return match.Success ? match.Groups[1].Value : text;
    }

    private static (string Name, string Value)? NamePrefix(string text)
    {
        var match = NameEquals().Match(text);
        if (!match.Success || text.Count(c => c == '=') != 1 || HasInequality(text))
        {
            return null;
        }

        return (match.Groups[1].Value, text[match.Length..]);
    }

    private static string StripName(string text) => NamePrefix(text)?.Value ?? text;

    private static string ExpandPlusMinus(string text) =>
        text.StartsWith("\\pm", StringComparison.Ordinal) ? $"{text[3..]},-{text[3..]}" : text;

    private static bool HasRelation(string text) => text.Contains('=') || text.Contains('<') || text.Contains('>');

    private static bool HasInequality(string text) => text.Contains('<') || text.Contains('>') || text.Contains("!=", StringComparison.Ordinal);

    private static bool IsPlainNumber(string text) => PlainNumber().IsMatch(text);

    private static bool IsThousands(string text) => Thousands().IsMatch(text);

    private static List<string>? SetElements(string text)
    {
        if (!text.StartsWith("\\{", StringComparison.Ordinal) || !text.EndsWith("\\}", StringComparison.Ordinal) || text.Length < 4)
        {
            return null;
        }

        var inner = text[2..^2];
        // "\{x | x > 1\}" is set-builder notation, not a list of elements.
        return inner.Contains('|') ? null : inner.Length == 0 ? [] : SplitTopLevel(inner, ',');
    }

    private static (char Open, char Close, List<string> Parts)? Interval(string text)
    {
        if (text.Length < 3 || text[0] is not ('(' or '[') || text[^1] is not (')' or ']'))
        {
            return null;
        }

        // The brackets must enclose the whole text: "(1)(2)" is not one tuple.
        var depth = 0;
        for (var i = 0; i < text.Length; i++)
        {
            depth += text[i] is '(' or '[' or '{' ? 1 : text[i] is ')' or ']' or '}' ? -1 : 0;
            if (depth == 0 && i < text.Length - 1)
            {
                return null;
            }
        }

        return (text[0], text[^1], SplitTopLevel(text[1..^1], ','));
    }

    /// <summary>Splits at separators outside (), [], {} — including the escaped set braces.</summary>
    internal static List<string> SplitTopLevel(string text, char separator) => SplitTopLevel(text, separator.ToString());

    internal static List<string> SplitTopLevel(string text, string separator)
    {
        var parts = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\' && i + 1 < text.Length && text[i + 1] is '{' or '}')
            {
                depth += text[i + 1] == '{' ? 1 : -1;
                i++;
                continue;
            }

            if (c is '(' or '[' or '{')
            {
                depth++;
            }
            else if (c is ')' or ']' or '}')
            {
                depth--;
            }
            else if (depth == 0 && string.CompareOrdinal(text, i, separator, 0, separator.Length) == 0)
            {
                parts.Add(text[start..i]);
                start = i + separator.Length;
                i += separator.Length - 1;
            }
        }

        parts.Add(text[start..]);
        return parts;
    }

    private static EquivalenceResult Equal(string reason) => new(Equivalence.Equivalent, reason);

    private static EquivalenceResult Different(string reason) => new(Equivalence.NotEquivalent, reason);

    private static EquivalenceResult Undecided(string reason) => new(Equivalence.Undecidable, reason);

    [GeneratedRegex(@"^([A-E]):")]
    private static partial Regex ChoicePrefix();

    // A simple name on the left of '=': x, a_n, T_{n}, S_{2n-1}, f(x), e.
    [GeneratedRegex(@"^([A-Za-z](?:_\{[^{}]*\}|_[A-Za-z0-9])?(?:\([A-Za-z0-9,]*\))?)=")]
    private static partial Regex NameEquals();

    [GeneratedRegex(@"^-?(?:\d+(?:\.\d+)?|\.\d+)$")]
    private static partial Regex PlainNumber();

    [GeneratedRegex(@"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")]
    private static partial Regex Thousands();
}
