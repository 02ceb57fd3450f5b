using LLama.Native;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Core.Errors;
using Shepherd.Slm.Inference;
using Shepherd.Slm.Model;

namespace Shepherd.Slm.Grpc;

/// <summary>
/// Validates a request against the documented bounds and turns it into model tokens. Every rejection names the
/// field, so clients see INVALID_ARGUMENT with a BadRequest field violation.
/// </summary>
public sealed class SlmInputBuilder(LlamaModel model, PromptRenderer renderer, IOptions<SlmOptions> options)
{
    public const int MaxTokensLimit = 4096;
    public const int MaxSamples = 16;
    public const int MaxStops = 8;
    public const int MaxStopLength = 64;
    // The paper's generation settings (paper.md, "Prompts"): temperature 0.3, top_p 0.95.
    public const float DefaultTemperature = 0.3f;
    public const float DefaultTopP = 0.95f;

    private static readonly HashSet<string> Roles = ["system", "user", "assistant"];

    public LLamaToken[] BuildPrompt(string prompt, IReadOnlyList<ChatMessage> messages, Hint? hint)
    {
        var hasPrompt = prompt.Length > 0;
        if (hasPrompt && messages.Count > 0)
        {
            throw new InvalidRequestException("prompt", "set either prompt or messages, not both");
        }

        if (!hasPrompt && messages.Count == 0)
        {
            throw new InvalidRequestException("prompt", "prompt is empty and no messages were given");
        }

        var chars = prompt.Length + (hint?.Text.Length ?? 0);
        if (hasPrompt)
        {
            RequireText("prompt", prompt);
        }

        for (var i = 0; i < messages.Count; i++)
        {
            if (!Roles.Contains(messages[i].Role))
            {
                throw new InvalidRequestException($"messages[{i}].role", $"unknown role '{Truncate(messages[i].Role)}'; use system, user or assistant");
            }

            RequireText($"messages[{i}].content", messages[i].Content);
            chars += messages[i].Content.Length;
        }

        var injection = HintInjection.None;
        if (hint is not null && hint.Text.Length > 0)
        {
            RequireValidUtf8("hint.text", hint.Text);
            injection = hint.Mode switch
            {
                HintMode.Unspecified or HintMode.PromptLine => HintInjection.PromptLine,
                HintMode.Continuation => HintInjection.Continuation,
                _ => throw new InvalidRequestException("hint.mode", $"unknown hint mode {(int)hint.Mode}; use HINT_MODE_PROMPT_LINE or HINT_MODE_CONTINUATION"),
            };
        }
        else if (hint is not null && !Enum.IsDefined(hint.Mode))
        {
            throw new InvalidRequestException("hint.mode", $"unknown hint mode {(int)hint.Mode}");
        }

        if (chars > options.Value.MaxInputChars)
        {
            throw new InvalidRequestException(hasPrompt ? "prompt" : "messages", $"input is {chars} characters; the limit is {options.Value.MaxInputChars} (Slm:MaxInputChars)");
        }

        var turns = messages.Select(m => new ChatTurn(m.Role, m.Content)).ToArray();
        var rendered = renderer.Render(hasPrompt ? prompt : null, turns, hint?.Text, injection);
        var tokens = model.Tokenize(rendered.Text, rendered.AddBos, rendered.ParseSpecial);
        // At least one position must remain for generation.
        if (tokens.Length >= model.ContextSize)
        {
            var field = injection == HintInjection.None ? (hasPrompt ? "prompt" : "messages") : "hint.text";
            throw new InvalidRequestException(field, $"prompt{(injection == HintInjection.None ? "" : " plus hint")} is {tokens.Length} tokens; the context holds {model.ContextSize}");
        }

        return tokens;
    }

    public GenerationSpec BuildSpec(GenerateRequest request)
    {
        var maxTokens = request.MaxTokens == 0 ? options.Value.DefaultMaxTokens : request.MaxTokens;
        if (maxTokens is < 1 or > MaxTokensLimit)
        {
            throw new InvalidRequestException("max_tokens", $"must be between 1 and {MaxTokensLimit} (0 means {options.Value.DefaultMaxTokens}); got {request.MaxTokens}");
        }

        var temperature = request.HasTemperature ? request.Temperature : DefaultTemperature;
        if (!float.IsFinite(temperature) || temperature < 0 || temperature > 2)
        {
            throw new InvalidRequestException("temperature", $"must be between 0 and 2; got {temperature}");
        }

        var topP = request.HasTopP ? request.TopP : DefaultTopP;
        if (!float.IsFinite(topP) || topP <= 0 || topP > 1)
        {
            throw new InvalidRequestException("top_p", $"must be in (0, 1]; got {topP}");
        }

        var n = request.N == 0 ? 1 : request.N;
        var maxN = Math.Min(MaxSamples, model.MaxSequences);
        if (n < 1 || n > maxN)
        {
            throw new InvalidRequestException("n", $"must be between 1 and {maxN}; got {request.N}");
        }

        if (request.Stop.Count > MaxStops)
        {
            throw new InvalidRequestException("stop", $"at most {MaxStops} stop sequences; got {request.Stop.Count}");
        }

        for (var i = 0; i < request.Stop.Count; i++)
        {
            var stop = request.Stop[i];
            if (stop.Length is 0 or > MaxStopLength)
            {
                throw new InvalidRequestException($"stop[{i}]", $"must be 1 to {MaxStopLength} characters");
            }

            RequireValidUtf8($"stop[{i}]", stop);
        }

        var seed = request.HasSeed ? request.Seed : (ulong)Random.Shared.NextInt64();
        return new GenerationSpec(maxTokens, temperature, topP, seed, request.Stop.ToArray(), n);
    }

    /// <summary>Text to tokenize as it is (Tokenize): non-empty, valid, and within <see cref="SlmOptions.MaxInputChars"/>.</summary>
    public void RequireTokenizable(string field, string text)
    {
        if (text.Length == 0)
        {
            throw new InvalidRequestException(field, "is empty");
        }

        if (text.Length > options.Value.MaxInputChars)
        {
            throw new InvalidRequestException(field, $"is {text.Length} characters; the limit is {options.Value.MaxInputChars} (Slm:MaxInputChars)");
        }

        RequireValidUtf8(field, text);
    }

    private static void RequireText(string field, string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new InvalidRequestException(field, "is empty");
        }

        RequireValidUtf8(field, text);
    }

    // Invalid UTF-8 bytes never reach here: MalformedMessageMiddleware refuses them, naming the field. A
    // U+FFFD in the text is a character the client sent (EF BF BD), so it is accepted. Lone surrogates cannot
    // come from UTF-8 but can from in-process callers; they are not text a model should see.
    private static void RequireValidUtf8(string field, string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1])))
            {
                throw new InvalidRequestException(field, $"contains an unpaired surrogate at {i}");
            }

            if (char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(text[i - 1])))
            {
                throw new InvalidRequestException(field, $"contains an unpaired surrogate at {i}");
            }
        }
    }

    private static string Truncate(string s) => s.Length <= 32 ? s : s[..32] + "…";
}
