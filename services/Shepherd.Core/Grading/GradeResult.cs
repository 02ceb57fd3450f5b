using Shepherd.Core.Sandbox;

namespace Shepherd.Core.Grading;

/// <summary>The grade of one output against one task item.</summary>
/// <param name="Passed">True only when the output is decided correct. Undecidable comparisons fail closed.</param>
/// <param name="Undecidable">The grader could not decide equivalence (e.g. two symbolic forms it cannot compare);
/// <see cref="Passed"/> is then false, and batch reports count these separately.</param>
/// <param name="Reason">One line saying why.</param>
/// <param name="Answer">What was extracted from the output.</param>
public sealed record GradeResult(bool Passed, bool Undecidable, string Reason, ExtractedAnswer Answer)
{
    /// <summary>The sandbox run, for code tasks.</summary>
    public SandboxResult? Execution { get; init; }

    public static GradeResult Pass(string reason, ExtractedAnswer answer) => new(true, false, reason, answer);

    public static GradeResult Fail(string reason, ExtractedAnswer answer) => new(false, false, reason, answer);

    public static GradeResult Undecided(string reason, ExtractedAnswer answer) => new(false, true, reason, answer);
}
