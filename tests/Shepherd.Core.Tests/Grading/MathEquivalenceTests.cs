using Shepherd.Core.Datasets;
using Shepherd.Core.Grading.Latex;
using Xunit.Abstractions;

namespace Shepherd.Core.Tests.Grading;

public sealed class MathEquivalenceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("\\frac{1}{2}", "\\dfrac{1}{2}")]
    [InlineData("\\frac{1}{2}", "0.5")]
    [InlineData("\\frac12", "\\frac{1}{2}")]
    [InlineData("-\\frac {7}{9}", "-\\frac{7}{9}")]
    [InlineData("\\frac{3}{4}", "0.75")]
    [InlineData("2\\sqrt{2}", "\\sqrt{8}")]
    [InlineData("\\dfrac { \\sqrt {2}}{2}", "\\frac{\\sqrt{2}}{2}")]
    [InlineData("\\frac{\\sqrt{2}}{2}", "0.70710678")]
    [InlineData("120^\\circ", "120")]
    [InlineData("120^{\\circ}", "120°")]
    [InlineData("840 \\text{ people}", "840")]
    [InlineData("$x = 3$", "3")]
    [InlineData("x=1-\\sqrt{3}", "1-\\sqrt3")]
    [InlineData("(-1, \\frac{3}{4})", "(-1,0.75)")]
    [InlineData("\\left[2,+\\infty \\right)", "[2, \\infty)")]
    [InlineData("(-1,9)\\cup (9,+\\infty)", "(-1, 9) \\cup (9, \\infty)")]
    [InlineData("\\{7, 8\\}", "\\{8, 7\\}")]
    [InlineData("-2 \\text{ or } 1", "-2, 1")]
    [InlineData("18 \\text{ or } 10", "18 or 10")]
    [InlineData("\\pm3", "3, -3")]
    [InlineData("BC", "B, C")]
    [InlineData("\\text{C and D}", "CD")]
    [InlineData("A: \\frac{\\sqrt{5}}{5}", "A")]
    [InlineData("a\\geqslant 2", "a \\geq 2")]
    [InlineData("-x^2 + 2x", "2x - x^{2}")]
    [InlineData("y = 2x", "2x")]
    [InlineData("3x - y - 9 = 0", "y = 3x - 9")]
    [InlineData("T\\_n= \\frac {2n}{2n+1}", "\\frac{2n}{2n+1}")]
    [InlineData("\\dfrac{1}{x\\cdot\\ln 2}", "\\frac{1}{x \\ln 2}")]
    [InlineData("4\\sqrt{3}-6", "-6+4\\sqrt{3}")]
    [InlineData("144468", "144,468")]
    [InlineData("20\\%", "20")]
    [InlineData("\\sqrt[3]{8}", "2")]
    [InlineData("\\left( \\frac {4e}{e^{2}-1},+\\infty\\right)", "(\\frac{4e}{e^2-1}, \\infty)")]
    public void EquivalentPairs(string reference, string candidate)
    {
        var result = MathEquivalence.Compare(reference, candidate);

        Assert.True(result.Verdict == Equivalence.Equivalent, $"{reference} vs {candidate}: {result.Verdict} ({result.Reason})");
    }

    [Theory]
    [InlineData("\\frac{1}{2}", "\\frac{1}{3}")]
    [InlineData("\\frac{1}{2}", "0.51")]
    [InlineData("2\\sqrt{2}", "2\\sqrt{3}")]
    [InlineData("(-1, 0)", "[-1, 0)")]
    [InlineData("(-1, 0)", "(-1, 1)")]
    [InlineData("[-2,3]", "[-2,3)")]
    [InlineData("(0, 3)", "3")]
    [InlineData("-2 \\text{ or } 1", "1, -2")]
    [InlineData("-2 \\text{ or } 1", "-2")]
    [InlineData("\\{7, 8\\}", "\\{7\\}")]
    [InlineData("B", "C")]
    [InlineData("BC", "B")]
    [InlineData("x = 3", "-3")]
    [InlineData("-x^2 + 2x", "x^2 - 2x")]
    [InlineData("y = 2x", "y = 2x + 1")]
    [InlineData("120^\\circ", "60")]
    [InlineData("17", "")]
    public void NonEquivalentPairs(string reference, string candidate)
    {
        var result = MathEquivalence.Compare(reference, candidate);

        Assert.True(result.Verdict == Equivalence.NotEquivalent, $"{reference} vs {candidate}: {result.Verdict} ({result.Reason})");
    }

    [Theory]
    [InlineData("2 < a < 3", "a \\in (2, 3)")]
    [InlineData("\\text{is}", "\\text{is not}")]
    [InlineData("f(x) \\geq -\\frac{1}{2}", "x \\ge 1")]
    public void UndecidablePairsFailClosed(string reference, string candidate)
    {
        var result = MathEquivalence.Compare(reference, candidate);

        Assert.Equal(Equivalence.Undecidable, result.Verdict);
    }

    [SkippableFact]
    public void EveryCnk12ReferenceIsEquivalentToItselfReformatted()
    {
        var items = DatasetCatalog.Load("cnk12", "all", DataSkip.Directory("cnk12"));

        var failures = new List<string>();
        foreach (var item in items)
        {
            foreach (var variant in Reformat(item.Reference))
            {
                var result = MathEquivalence.Compare(item.Reference, variant);
                if (result.Verdict != Equivalence.Equivalent)
                {
                    failures.Add($"{item.Id}: {item.Reference} vs {variant}: {result.Verdict} ({result.Reason})");
                }
            }
        }

        failures.ForEach(output.WriteLine);
        Assert.Empty(failures);
    }

    [SkippableFact]
    public void KeysAgreeForReformattedCnk12References()
    {
        var items = DatasetCatalog.Load("cnk12", "all", DataSkip.Directory("cnk12"));

        var differing = items.Where(i => MathEquivalence.Key(i.Reference) != MathEquivalence.Key(Reformat(i.Reference)[0])).Select(i => i.Id).ToList();

        Assert.Empty(differing);
    }

    // \frac <-> \dfrac, spaces added around operators and after commas, and wrapped in $…$.
    private static List<string> Reformat(string answer)
    {
        var swapped = answer.Contains("\\dfrac", StringComparison.Ordinal)
            ? answer.Replace("\\dfrac", "\\frac", StringComparison.Ordinal)
            : answer.Replace("\\frac", "\\dfrac", StringComparison.Ordinal);
        var spaced = answer.Replace(",", ", ", StringComparison.Ordinal).Replace("+", " + ", StringComparison.Ordinal).Replace("=", " = ", StringComparison.Ordinal);
        return [swapped, spaced, "$" + answer + "$", "  " + swapped + " ."];
    }
}
