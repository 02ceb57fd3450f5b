using System.Globalization;

namespace Shepherd.Core.Configuration;

/// <summary>
/// The one set of generation caps labelling and serving share, so a long answer is cut alike in the labels and
/// when serving: the LLM's full answer (<c>Llm:MaxAnswerTokens</c>) and each SLM answer
/// (<c>Orchestrator:SlmMaxTokens</c>). The orchestrator binds those keys (appsettings.json, or environment
/// variables <c>Llm__MaxAnswerTokens</c> / <c>Orchestrator__SlmMaxTokens</c>); <c>shepherd label</c> reads the
/// same environment variables, and both default to the values here.
/// </summary>
public sealed record GenerationCaps(int LlmMaxTokens, int SlmMaxTokens)
{
    public const int DefaultLlmMaxTokens = 1024;
    public const int DefaultSlmMaxTokens = 512;
    public const string LlmKey = "Llm:MaxAnswerTokens";
    public const string SlmKey = "Orchestrator:SlmMaxTokens";

    public static GenerationCaps Default { get; } = new(DefaultLlmMaxTokens, DefaultSlmMaxTokens);

    /// <summary>The caps as the services would bind them from the environment, else the defaults.</summary>
    public static GenerationCaps FromEnvironment(Func<string, string?>? read = null)
    {
        read ??= Environment.GetEnvironmentVariable;
        return new(Read(read, LlmKey, DefaultLlmMaxTokens), Read(read, SlmKey, DefaultSlmMaxTokens));
    }

    public override string ToString() => $"LLM {LlmMaxTokens} / SLM {SlmMaxTokens} tokens ({LlmKey}, {SlmKey})";

    private static int Read(Func<string, string?> read, string key, int fallback)
    {
        var variable = key.Replace(":", "__", StringComparison.Ordinal);
        var text = read(variable);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= 1
            ? value
            : throw new ArgumentException($"{variable} must be a whole number >= 1; got '{text}'");
    }
}
