using System.Globalization;
using Shepherd.Core.Policy;

namespace Shepherd.Policy.Model.Training;

/// <summary>
/// A generated label set for tests and end-to-end setups, where the need for a hint truly depends on the text
/// and the features: advanced-mathematics questions and multi-step word problems need a hint, one-step word
/// problems do not; in reactive mode a high SLM entropy tips the decision too. The size n* depends on the
/// topic. A few labels are flipped and a few queries are unsolvable, so a perfect score is not possible.
/// It tests the training machinery, not the policy's quality on real data.
/// </summary>
public static class SyntheticLabels
{
    private const double LabelNoise = 0.03;
    private const double Unsolvable = 0.03;

    private static readonly string[] Names = ["Ava", "Ben", "Chloe", "Dev", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kai", "Lena", "Maya", "Noah", "Omar", "Priya"];
    private static readonly string[] Items = ["apples", "pencils", "stickers", "marbles", "cookies", "books", "cards", "shells", "coins", "balloons"];

    private sealed record Topic(string Name, int BaseHint, Func<Random, string> Make);

    private static readonly Topic[] Hard =
    [
        new("calculus", 45, r => Pick(r,
            $"Evaluate the definite integral of x^{r.Next(2, 6)} * e^({r.Next(2, 5)}x) from 0 to {r.Next(1, 4)}.",
            $"Find the derivative of ln(x^{r.Next(2, 7)} + {r.Next(2, 9)}x) * sin({r.Next(2, 5)}x) and simplify.",
            $"Compute the limit as x approaches 0 of (1 - cos({r.Next(2, 7)}x)) / x^2.",
            $"Determine the radius of convergence of the power series sum of x^n / ({r.Next(2, 9)}^n * n^{r.Next(2, 4)}).")),
        new("number-theory", 85, r => Pick(r,
            $"Find the remainder when {r.Next(3, 19)}^{r.Next(50, 999)} is divided by {r.Next(7, 97)}.",
            $"How many positive divisors does {r.Next(2, 9) * 360} have, and what is their sum?",
            $"Find all integer solutions of {r.Next(3, 20)}x + {r.Next(21, 50)}y = {r.Next(1, 9)} with x between 0 and 50.",
            $"Prove that n^{r.Next(3, 6)} - n is divisible by {Pick(r, "5", "6", "30")} for every integer n.")),
        new("combinatorics", 150, r => Pick(r,
            $"In how many ways can {r.Next(6, 12)} people sit around a round table if {r.Next(2, 4)} particular people refuse to sit next to each other?",
            $"How many {r.Next(5, 9)}-digit strings with no two adjacent equal digits contain exactly {r.Next(2, 4)} sevens?",
            $"A committee of {r.Next(4, 7)} is chosen from {r.Next(8, 12)} men and {r.Next(8, 12)} women with at least two women; count the committees where a given couple is not both chosen.",
            $"Count the lattice paths from (0,0) to ({r.Next(5, 9)},{r.Next(5, 9)}) that never pass above the diagonal.")),
        new("geometry-proof", 260, r => Pick(r,
            $"Prove that in any triangle ABC the angle bisector from A divides BC in the ratio AB:AC, then find BD when AB = {r.Next(5, 15)}, AC = {r.Next(5, 15)} and BC = {r.Next(8, 20)}.",
            $"Show that the circumcentre, centroid and orthocentre of a triangle are collinear, and compute the Euler line length for sides {r.Next(5, 9)}, {r.Next(9, 13)}, {r.Next(13, 16)}.",
            $"A regular polygon with {r.Next(7, 15)} sides is inscribed in a circle of radius {r.Next(2, 9)}; prove a formula for its area and evaluate it.",
            $"Prove that the tangents from an external point to a circle are equal, then find the tangent length from a point {r.Next(10, 20)} units from the centre of a circle of radius {r.Next(3, 9)}.")),
    ];

    /// <summary>Generates <paramref name="count"/> labels (70 % train, 15 % validation, 15 % test), reproducibly from the seed.</summary>
    public static IReadOnlyList<LabelRecord> Generate(int count, int seed, PolicyMode mode)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var random = new Random(seed);
        var labels = new List<LabelRecord>(count);
        for (var i = 0; i < count; i++)
        {
            labels.Add(One(random, i, seed, mode));
        }

        return labels;
    }

    private static LabelRecord One(Random r, int index, int seed, PolicyMode mode)
    {
        string query;
        bool difficult;
        int baseHint;
        if (r.NextDouble() < 0.45)
        {
            var topic = Hard[r.Next(Hard.Length)];
            query = topic.Make(r);
            difficult = true;
            baseHint = topic.BaseHint;
        }
        else
        {
            var steps = r.Next(1, 6);
            query = WordProblem(r, steps);
            difficult = steps >= 4;
            baseHint = 12 * steps;
        }

        // SLM signals: hard questions make the SLM less sure and more verbose.
        var entropy = Math.Round(Math.Clamp((difficult ? 0.75 : 0.45) + 0.35 * Normal(r), 0.02, 2.5), 4);
        var outputLength = Math.Round(Math.Clamp((difficult ? 220 : 110) * Math.Exp(0.3 * Normal(r)), 10, 1500), 1);
        var needs = mode == PolicyMode.Proactive
            ? difficult
            : difficult ? entropy > 0.5 : entropy > 0.8;
        if (r.NextDouble() < LabelNoise)
        {
            needs = !needs;
        }

        var trueHint = Math.Max(1, (int)Math.Round(baseHint * Math.Exp(0.15 * Normal(r))));
        var answer = Math.Max(trueHint + 1, (int)Math.Round(trueHint * (2.5 + r.NextDouble())));
        // Draw unconditionally: both modes then consume the same random stream and share their texts.
        var unsolvableDraw = r.NextDouble();
        var unsolvable = needs && unsolvableDraw < Unsolvable;
        var levels = new List<LabelLevel>();
        var nStar = needs ? LabelRecord.NoHintSufficed : 0;
        for (var p = 0; p <= 90; p += 10)
        {
            var np = p * answer / 100;
            var passed = !unsolvable && (needs ? p > 0 && np >= trueHint : true);
            levels.Add(new LabelLevel { Percent = p, HintTokens = np, Passed = passed });
            if (passed && nStar == LabelRecord.NoHintSufficed)
            {
                nStar = np;
            }
        }

        var split = r.NextDouble() switch
        {
            < 0.70 => LabelSplit.Train,
            < 0.85 => LabelSplit.Validation,
            _ => LabelSplit.Test,
        };
        return new LabelRecord
        {
            Id = string.Create(CultureInfo.InvariantCulture, $"syn-{seed}-{index:D5}"),
            Query = query,
            Task = "generic",
            NStar = nStar,
            LlmAnswerTokens = answer,
            Levels = levels,
            Features = new Dictionary<string, double>
            {
                [PolicyFeatureNames.MeanEntropy] = entropy,
                [PolicyFeatureNames.MeanOutputLength] = outputLength,
                [PolicyFeatureNames.QueryLength] = query.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length,
            },
            Split = split,
        };
    }

    private static string WordProblem(Random r, int steps)
    {
        var name = Names[r.Next(Names.Length)];
        var item = Items[r.Next(Items.Length)];
        var parts = new List<string> { $"{name} has {r.Next(3, 40)} {item}." };
        string[] actions =
        [
            $"Then {name} buys {r.Next(2, 20)} more.",
            $"Then {name} gives {r.Next(1, 5)} to a friend.",
            $"Next, {name} doubles the pile.",
            $"After that, {name} loses {r.Next(1, 4)} on the way home.",
            $"Then {name} shares them equally with {r.Next(2, 4)} cousins and keeps one share.",
        ];
        for (var s = 1; s < steps; s++)
        {
            parts.Add(actions[r.Next(actions.Length)]);
        }

        parts.Add(steps == 1 ? $"How many {item} does {name} have if {name} buys {r.Next(2, 20)} more?" : $"How many {item} does {name} have now?");
        return string.Join(' ', parts);
    }

    private static string Pick(Random r, params string[] options) => options[r.Next(options.Length)];

    private static double Normal(Random r) =>
        Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
}
