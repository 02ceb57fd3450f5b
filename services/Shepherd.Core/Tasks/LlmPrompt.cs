namespace Shepherd.Core.Tasks;

/// <summary>The prompt the LLM is billed for (<c>Llm:Prompt</c>), used alike by labelling and serving.</summary>
public enum LlmPromptStyle
{
    /// <summary>The paper's: the SLM's whole prompt, few-shot examples included.</summary>
    Same,

    /// <summary>Instruction and question only: no few-shot turns (a 70B model needs no examples; every input token is billed).</summary>
    Lean,
}

/// <summary>Builds the LLM's messages in a <see cref="LlmPromptStyle"/>; the hint cache keys on the messages, so on the style.</summary>
public static class LlmPrompt
{
    public const string Same = "same";
    public const string Lean = "lean";

    public static LlmPromptStyle Parse(string name) => name switch
    {
        Same => LlmPromptStyle.Same,
        Lean => LlmPromptStyle.Lean,
        _ => throw new ArgumentException($"unknown LLM prompt '{name}' (same or lean)"),
    };

    public static string Name(LlmPromptStyle style) => style == LlmPromptStyle.Lean ? Lean : Same;

    /// <summary>The LLM's chat for an item: the task's messages, or (lean) only the final user prompt.</summary>
    public static IReadOnlyList<ChatMessage> Messages(ITaskKind task, TaskItem item, LlmPromptStyle style) =>
        style == LlmPromptStyle.Lean ? [ChatMessage.User(task.BuildPrompt(item))] : task.BuildMessages(item);
}
