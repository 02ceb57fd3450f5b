namespace Shepherd.Core.Grading;

/// <summary>The final answer found in a model output (or a reference) and its key for consensus.</summary>
/// <param name="Text">The answer as written (a number, a LaTeX expression, a program), or null when none was found.</param>
/// <param name="Key">A normalised form: two outputs with equal keys give the same answer (numbers canonicalised,
/// LaTeX normalised, code without whitespace and comments). Null when no answer was found.</param>
public sealed record ExtractedAnswer(string? Text, string? Key)
{
    public static ExtractedAnswer None { get; } = new(null, null);

    public bool Found => Text is not null;
}
