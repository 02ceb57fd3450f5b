using Shepherd.Core.Grading;

namespace Shepherd.Core.Tasks;

/// <summary>A kind of task: how to prompt for it, how to find the answer in an output, and how to grade it.</summary>
public interface ITaskKind
{
    /// <summary>gsm8k, cnk12, humaneval, mbpp or generic.</summary>
    string Name { get; }

    /// <summary>The instruction line's text (after "Instruction: ").</summary>
    string Instruction { get; }

    /// <summary>The chat to send: few-shot turns (gsm8k) followed by the user prompt of
    /// <see cref="BuildPrompt"/>. A null or blank hint leaves the Hint line out.</summary>
    IReadOnlyList<ChatMessage> BuildMessages(TaskItem item, string? hint = null);

    /// <summary>The final user message: the paper's template with or without the Hint line. Pass no hint when
    /// the SLM service adds "Hint: …" itself.</summary>
    string BuildPrompt(TaskItem item, string? hint = null);

    /// <summary>The final answer in a model output and its consensus key; <see cref="ExtractedAnswer.None"/>
    /// when there is none. Code kinds use <paramref name="item"/>'s entry point to pick the right block.</summary>
    ExtractedAnswer Extract(string output, TaskItem? item = null);

    /// <summary>The reference answer of an item, extracted and keyed like outputs are.</summary>
    ExtractedAnswer ExtractReference(TaskItem item);

    /// <summary>Grades one output. Math comparisons that cannot be decided fail closed (Undecidable=true);
    /// code runs in the sandbox.</summary>
    Task<GradeResult> GradeAsync(TaskItem item, string output, CancellationToken cancellationToken = default);
}
