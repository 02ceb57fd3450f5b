using Shepherd.Core.Grading;
using Shepherd.Core.Grading.Latex;

namespace Shepherd.Core.Tasks;

/// <summary>CNK12 (cn_k12 math): zero-shot, answer in <c>\boxed{}</c>, graded by <see cref="MathEquivalence"/>.</summary>
public sealed class Cnk12Task : ITaskKind
{
    public const string KindName = "cnk12";

    public string Name => KindName;

    public string Instruction =>
        PromptTemplate.BaseInstruction + " Solve the problem step by step and put the final answer in \\boxed{}.";

    public IReadOnlyList<ChatMessage> BuildMessages(TaskItem item, string? hint = null) => [ChatMessage.User(BuildPrompt(item, hint))];

    public string BuildPrompt(TaskItem item, string? hint = null) => PromptTemplate.Format(Instruction, item.Query, hint);

    public ExtractedAnswer Extract(string output, TaskItem? item = null) => MathAnswer.Extract(output);

    /// <summary>The reference is the answer itself; a full solution is reduced to its last <c>\boxed{}</c>.</summary>
    public ExtractedAnswer ExtractReference(TaskItem item)
    {
        var answer = MathAnswer.LastBoxed(item.Reference) ?? item.Reference.Trim();
        return answer.Length == 0 ? ExtractedAnswer.None : new ExtractedAnswer(answer, MathEquivalence.Key(answer));
    }

    public Task<GradeResult> GradeAsync(TaskItem item, string output, CancellationToken cancellationToken = default) =>
        Task.FromResult(AnswerGrading.Math(ExtractReference(item), Extract(output)));
}
