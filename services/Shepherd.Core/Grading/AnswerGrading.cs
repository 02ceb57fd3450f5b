using Shepherd.Core.Grading.Latex;
using Shepherd.Core.Sandbox;

namespace Shepherd.Core.Grading;

/// <summary>The comparisons shared by task kinds: numbers, math, exact text and sandboxed programs.</summary>
public static class AnswerGrading
{
    public static GradeResult Numeric(ExtractedAnswer reference, ExtractedAnswer output)
    {
        if (!reference.Found)
        {
            return GradeResult.Undecided("the reference has no number", output);
        }

        if (!output.Found)
        {
            return GradeResult.Fail("no number found in the output", output);
        }

        return NumericAnswer.AreEqual(reference.Key, output.Key)
            ? GradeResult.Pass($"{output.Key} = {reference.Key}", output)
            : GradeResult.Fail($"{output.Key} ≠ {reference.Key}", output);
    }

    public static GradeResult Math(ExtractedAnswer reference, ExtractedAnswer output)
    {
        if (!reference.Found)
        {
            return GradeResult.Undecided("the reference has no answer", output);
        }

        if (!output.Found)
        {
            return GradeResult.Fail("no \\boxed{} or stated final answer in the output", output);
        }

        var comparison = MathEquivalence.Compare(reference.Text!, output.Text!);
        return comparison.Verdict switch
        {
            Equivalence.Equivalent => GradeResult.Pass(comparison.Reason, output),
            Equivalence.NotEquivalent => GradeResult.Fail(comparison.Reason, output),
            _ => GradeResult.Undecided($"undecidable, failed closed: {comparison.Reason}", output),
        };
    }

    public static GradeResult Exact(ExtractedAnswer reference, ExtractedAnswer output)
    {
        if (!output.Found)
        {
            return GradeResult.Fail("no answer found in the output", output);
        }

        return string.Equals(reference.Key, output.Key, StringComparison.Ordinal)
            ? GradeResult.Pass("exact match", output)
            : GradeResult.Fail($"'{output.Key}' ≠ '{reference.Key}'", output);
    }

    /// <summary>Runs a program; passes only on <see cref="SandboxVerdict.Pass"/>. A sandbox error says nothing
    /// about the code, so it is reported undecidable (and still fails).</summary>
    public static async Task<GradeResult> ProgramAsync(PythonSandbox sandbox, string program, ExtractedAnswer output, CancellationToken cancellationToken)
    {
        var run = await sandbox.RunAsync(program, cancellationToken).ConfigureAwait(false);
        var reason = $"{run.Verdict}: {run.Cause}";
        var grade = run.Verdict switch
        {
            SandboxVerdict.Pass => GradeResult.Pass(reason, output),
            SandboxVerdict.SandboxError => GradeResult.Undecided(reason, output),
            _ => GradeResult.Fail(reason, output),
        };
        return grade with { Execution = run };
    }
}
