using System.Text;
using System.Text.RegularExpressions;
using Shepherd.Core.Grading;
using Shepherd.Core.Grading.Code;
using Shepherd.Core.Sandbox;

namespace Shepherd.Core.Tasks;

/// <summary>MBPP: the task text, the function signature and the given tests; "output only runnable Python
/// code"; graded by running code + test_setup_code + test_list in the sandbox (see <see cref="ProgramBuilder.Mbpp"/>).</summary>
public sealed partial class MbppTask(PythonSandbox sandbox) : ITaskKind
{
    public const string KindName = "mbpp";

    public string Name => KindName;

    public string Instruction =>
        PromptTemplate.BaseInstruction + " Write the Python function the task asks for. Output only runnable Python code.";

    public IReadOnlyList<ChatMessage> BuildMessages(TaskItem item, string? hint = null) => [ChatMessage.User(BuildPrompt(item, hint))];

    public string BuildPrompt(TaskItem item, string? hint = null) => PromptTemplate.Format(Instruction, Question(item), hint);

    /// <summary>The question block: text, "Signature: def f(a, b):" (from the reference code) and the tests.</summary>
    public static string Question(TaskItem item)
    {
        var builder = new StringBuilder(item.Query.Trim());
        if (Signature(item) is { } signature)
        {
            builder.Append("\nSignature: ").Append(signature);
        }

        if (item.Tests.Count > 0)
        {
            builder.Append("\nYour code must pass these tests:\n").AppendJoin("\n", item.Tests);
        }

        return builder.ToString();
    }

    /// <summary>The <c>def</c> line of the function the tests call, taken from the reference code.</summary>
    public static string? Signature(TaskItem item)
    {
        var name = item.EntryPoint;
        foreach (Match match in Definition().Matches(item.Reference.Replace("\r\n", "\n", StringComparison.Ordinal)))
        {
            if (name is null || match.Groups[1].Value == name)
            {
                return match.Value.Trim();
            }
        }

        return null;
    }

    public ExtractedAnswer Extract(string output, TaskItem? item = null) => CodeAnswer.Extract(output, item?.EntryPoint);

    public ExtractedAnswer ExtractReference(TaskItem item) => new(item.Reference, CodeAnswer.Key(item.Reference));

    public async Task<GradeResult> GradeAsync(TaskItem item, string output, CancellationToken cancellationToken = default)
    {
        var answer = Extract(output, item);
        if (!answer.Found)
        {
            return GradeResult.Fail("no code found in the output", answer);
        }

        return await AnswerGrading.ProgramAsync(sandbox, ProgramBuilder.Mbpp(item, answer.Text!), answer, cancellationToken).ConfigureAwait(false);
    }

    [GeneratedRegex(@"^def\s+(\w+)\s*\([^\n]*\)\s*(?:->[^\n:]*)?:", RegexOptions.Multiline)]
    private static partial Regex Definition();
}
