namespace Shepherd.Core.Tasks;

/// <summary>
/// The paper's prompt (appendix E): "Instruction: …\nQuestion: {query}\nHint: {hint}", the Hint line left out
/// when there is no hint.
/// </summary>
public static class PromptTemplate
{
    /// <summary>The paper's instruction, shared by both models; each kind appends its own constraint.</summary>
    public const string BaseInstruction = "give the final answer, following the task's constraints.";

    public static string Format(string instruction, string query, string? hint)
    {
        var prompt = $"Instruction: {instruction}\nQuestion: {query}";
        return string.IsNullOrWhiteSpace(hint) ? prompt : $"{prompt}\nHint: {hint}";
    }
}
