using System.Text;
using LLama;

namespace Shepherd.Slm.Model;

public enum HintInjection
{
    None,
    /// <summary>The paper's template: a "Hint: ..." line after the question (the last user turn).</summary>
    PromptLine,
    /// <summary>The hint starts the assistant's answer and the model continues it.</summary>
    Continuation,
}

public sealed record ChatTurn(string Role, string Content);

/// <summary>The text to tokenize and how to tokenize it.</summary>
public sealed record RenderedPrompt(string Text, bool AddBos, bool ParseSpecial);

/// <summary>
/// Turns a raw prompt or chat messages plus an optional hint into model input.
/// Chat messages use the model's own chat template (llama_chat_apply_template) when the GGUF has one;
/// otherwise the documented plain template:
/// <code>
/// {system}\n\n
/// User: {content}\n
/// Assistant: {content}\n
/// Assistant:
/// </code>
/// A raw prompt is used verbatim. Hint lines are "\nHint: {hint}" appended to the last user turn (or the raw
/// prompt); continuation hints are appended after the assistant's opening, so the model continues them.
/// </summary>
public sealed class PromptRenderer(LlamaModel model)
{
    public const string HintPrefix = "Hint: ";

    public RenderedPrompt Render(string? prompt, IReadOnlyList<ChatTurn> messages, string? hint, HintInjection injection)
    {
        var hasHint = injection != HintInjection.None && !string.IsNullOrEmpty(hint);
        if (messages.Count == 0)
        {
            var raw = prompt ?? "";
            if (hasHint)
            {
                raw = injection == HintInjection.PromptLine ? $"{raw.TrimEnd()}\n{HintPrefix}{hint}\n" : raw + hint;
            }

            return new RenderedPrompt(raw, AddBos: true, ParseSpecial: false);
        }

        var turns = messages.ToList();
        if (hasHint && injection == HintInjection.PromptLine)
        {
            var lastUser = turns.FindLastIndex(t => t.Role == "user");
            var target = lastUser >= 0 ? lastUser : turns.Count - 1;
            turns[target] = turns[target] with { Content = $"{turns[target].Content.TrimEnd()}\n{HintPrefix}{hint}" };
        }

        var rendered = model.ChatTemplate is null ? RenderPlain(turns) : RenderTemplate(turns);
        if (hasHint && injection == HintInjection.Continuation)
        {
            rendered = rendered with { Text = rendered.Text + hint };
        }

        return rendered;
    }

    private static RenderedPrompt RenderPlain(List<ChatTurn> turns)
    {
        var sb = new StringBuilder();
        foreach (var turn in turns)
        {
            switch (turn.Role)
            {
                case "system":
                    sb.Append(turn.Content).Append("\n\n");
                    break;
                case "assistant":
                    sb.Append("Assistant: ").Append(turn.Content).Append('\n');
                    break;
                default:
                    sb.Append("User: ").Append(turn.Content).Append('\n');
                    break;
            }
        }

        sb.Append("Assistant:");
        return new RenderedPrompt(sb.ToString(), AddBos: true, ParseSpecial: false);
    }

    private RenderedPrompt RenderTemplate(List<ChatTurn> turns)
    {
        var template = new LLamaTemplate(model.Weights) { AddAssistant = true };
        foreach (var turn in turns)
        {
            template.Add(turn.Role, turn.Content);
        }

        var text = Encoding.UTF8.GetString(template.Apply());
        // Templates such as Llama 3's write the BOS token themselves; adding another would double it.
        var bos = model.Weights.Vocab.BOS;
        var bosText = bos is null ? null : model.Weights.Vocab.LLamaTokenToString(bos, isSpecialToken: true);
        var addBos = string.IsNullOrEmpty(bosText) || !text.StartsWith(bosText, StringComparison.Ordinal);
        return new RenderedPrompt(text, addBos, ParseSpecial: true);
    }
}
