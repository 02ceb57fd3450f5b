using Shepherd.Core.Grading;
using Shepherd.Core.Grading.Code;
using Shepherd.Core.Sandbox;

namespace Shepherd.Core.Tasks;

/// <summary>HumanEval: the dataset prompt (signature and doctests) is the question; the program is
/// prompt + completion, graded by running <c>check(entry_point)</c> in the sandbox.</summary>
public sealed class HumanEvalTask(PythonSandbox sandbox) : ITaskKind
{
    public const string KindName = "humaneval";

    public string Name => KindName;

    public string Instruction =>
        PromptTemplate.BaseInstruction + " Complete the Python function below. Output only runnable Python code.";

    public IReadOnlyList<ChatMessage> BuildMessages(TaskItem item, string? hint = null) => [ChatMessage.User(BuildPrompt(item, hint))];

    public string BuildPrompt(TaskItem item, string? hint = null) => PromptTemplate.Format(Instruction, item.Query, hint);

    public ExtractedAnswer Extract(string output, TaskItem? item = null) => CodeAnswer.Extract(output, item?.EntryPoint);

    public ExtractedAnswer ExtractReference(TaskItem item)
    {
        var program = item.Query + item.Reference;
        return new ExtractedAnswer(program, CodeAnswer.Key(program));
    }

    public async Task<GradeResult> GradeAsync(TaskItem item, string output, CancellationToken cancellationToken = default)
    {
        var answer = Extract(output, item);
        if (!answer.Found)
        {
            return GradeResult.Fail("no code found in the output", answer);
        }

        return await AnswerGrading.ProgramAsync(sandbox, ProgramBuilder.HumanEval(item, answer.Text!), answer, cancellationToken).ConfigureAwait(false);
    }
}
