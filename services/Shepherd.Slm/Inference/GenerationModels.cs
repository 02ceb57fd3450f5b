namespace Shepherd.Slm.Inference;

public enum CompletionFinish
{
    Stop,
    Length,
    Cancelled,
}

/// <summary>What to generate for one request; validated by the caller against <see cref="SlmOptions"/>.</summary>
public sealed record GenerationSpec(int MaxTokens, float Temperature, float TopP, ulong Seed, IReadOnlyList<string> Stops, int N);

public sealed record CompletionResult(int Index, string Text, int GeneratedTokens, double MeanEntropy, CompletionFinish Finish);

public sealed record GenerationResult(
    IReadOnlyList<CompletionResult> Completions,
    int PromptTokens,
    double QueueMs,
    double PrefillMs,
    double DecodeMs);

/// <summary>Receives text as it is generated; called on the decode loop, so it must not block.</summary>
public delegate void CompletionDeltaSink(int index, string text);
