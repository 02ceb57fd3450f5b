using System.Text.RegularExpressions;
using Shepherd.Core.Grading;
using Shepherd.Core.Grading.Code;
using Shepherd.Core.Grading.Latex;
using Shepherd.Core.Sandbox;

namespace Shepherd.Core.Tasks;

/// <summary>A user's own task: query, reference and a grader named on each item.</summary>
/// <remarks>Graders: <c>exact</c> (the stated answer, trimmed, equals the reference), <c>numeric</c>
/// (GSM8K-style numbers), <c>math</c> (<see cref="MathEquivalence"/>), <c>python-tests</c> (the code runs with the
/// item's asserts / test module in the sandbox; the reference is reference code).</remarks>
public sealed partial class GenericTask(PythonSandbox sandbox) : ITaskKind
{
    public const string KindName = "generic";
    public const string ExactGrader = "exact";
    public const string NumericGrader = "numeric";
    public const string MathGrader = "math";
    public const string PythonTestsGrader = "python-tests";

    public static IReadOnlyList<string> Graders { get; } = [ExactGrader, NumericGrader, MathGrader, PythonTestsGrader];

    public string Name => KindName;

    public string Instruction => InstructionFor(ExactGrader);

    public static string InstructionFor(string grader) => PromptTemplate.BaseInstruction + GraderOf(grader) switch
    {
        MathGrader => " Put the final answer in \\boxed{}.",
        PythonTestsGrader => " Output only runnable Python code.",
        NumericGrader => " End with the final number on the last line as \"#### <number>\".",
        _ => " End with the final answer on the last line as \"Answer: <answer>\".",
    };

    public IReadOnlyList<ChatMessage> BuildMessages(TaskItem item, string? hint = null) => [ChatMessage.User(BuildPrompt(item, hint))];

    public string BuildPrompt(TaskItem item, string? hint = null)
    {
        var query = item.Query;
        if (GraderOf(item.Grader) == PythonTestsGrader && item.Tests.Count > 0)
        {
            query += "\nYour code must pass these tests:\n" + string.Join("\n", item.Tests);
        }

        return PromptTemplate.Format(InstructionFor(item.Grader ?? ExactGrader), query, hint);
    }

    public ExtractedAnswer Extract(string output, TaskItem? item = null) => GraderOf(item?.Grader) switch
    {
        NumericGrader => NumericAnswer.FromOutput(output),
        MathGrader => MathAnswer.Extract(output),
        PythonTestsGrader => CodeAnswer.Extract(output, item?.EntryPoint),
        _ => ExtractExact(output),
    };

    public ExtractedAnswer ExtractReference(TaskItem item) => GraderOf(item.Grader) switch
    {
        NumericGrader => item.Reference.Contains("####", StringComparison.Ordinal)
            ? NumericAnswer.FromReference(item.Reference)
            : NumericAnswer.Canonicalize(item.Reference) is { } key ? new ExtractedAnswer(item.Reference.Trim(), key) : ExtractedAnswer.None,
        MathGrader => new ExtractedAnswer(item.Reference.Trim(), MathEquivalence.Key(item.Reference)),
        PythonTestsGrader => new ExtractedAnswer(item.Reference, CodeAnswer.Key(item.Reference)),
        _ => new ExtractedAnswer(item.Reference.Trim(), ExactKey(item.Reference)),
    };

    public async Task<GradeResult> GradeAsync(TaskItem item, string output, CancellationToken cancellationToken = default)
    {
        var grader = GraderOf(item.Grader);
        var answer = Extract(output, item);
        switch (grader)
        {
            case NumericGrader:
                return AnswerGrading.Numeric(ExtractReference(item), answer);
            case MathGrader:
                return AnswerGrading.Math(ExtractReference(item), answer);
            case PythonTestsGrader:
                if (!answer.Found)
                {
                    return GradeResult.Fail("no code found in the output", answer);
                }

                if (item.Tests.Count == 0 && item.TestCode is null)
                {
                    return GradeResult.Undecided("the item has no tests", answer);
                }

                return await AnswerGrading.ProgramAsync(sandbox, ProgramBuilder.Tests(item, answer.Text!), answer, cancellationToken).ConfigureAwait(false);
            default:
                return AnswerGrading.Exact(ExtractReference(item), answer);
        }
    }

    /// <summary>The grader's canonical name; null means exact. Throws on an unknown name.</summary>
    public static string GraderOf(string? grader)
    {
        var name = (grader ?? ExactGrader).Trim().ToLowerInvariant().Replace('_', '-');
        return name switch
        {
            ExactGrader or NumericGrader or MathGrader or PythonTestsGrader => name,
            "python" or "tests" or "code" => PythonTestsGrader,
            _ => throw new ArgumentException($"Unknown grader '{grader}'. Known graders: {string.Join(", ", Graders)}.", nameof(grader)),
        };
    }

    private static ExtractedAnswer ExtractExact(string output)
    {
        var stated = StatedAnswer().Matches(output);
        var text = stated.Count > 0
            ? stated[^1].Groups[1].Value
            : MathAnswer.LastBoxed(output) ?? output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        return string.IsNullOrWhiteSpace(text) ? ExtractedAnswer.None : new ExtractedAnswer(text.Trim(), ExactKey(text));
    }

    // Exact, apart from surrounding space, quotes and a final period.
    private static string ExactKey(string text) => text.Trim().Trim('"', '\'', '`').TrimEnd('.').Trim();

    [GeneratedRegex(@"(?:final answer|answer)\s*(?:is|:)\s*(.+)", RegexOptions.IgnoreCase)]
    private static partial Regex StatedAnswer();
}
