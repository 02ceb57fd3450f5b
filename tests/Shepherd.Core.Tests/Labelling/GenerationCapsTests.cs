using System.Text.Json;
using Shepherd.Core.Configuration;
using Shepherd.Core.Labelling;

namespace Shepherd.Core.Tests.Labelling;

/// <summary>Labelling and serving cut answers at the same caps, from the same configuration keys.</summary>
public sealed class GenerationCapsTests
{
    [Fact]
    public void TheOrchestratorsConfigurationHoldsTheSharedDefaults()
    {
        var root = ShepherdPaths.RepositoryRoot ?? throw new InvalidOperationException("no repository root");
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "services", "Shepherd.Orchestrator", "appsettings.json")));

        Assert.Equal(GenerationCaps.DefaultLlmMaxTokens, settings.RootElement.GetProperty("Llm").GetProperty("MaxAnswerTokens").GetInt32());
        Assert.Equal(GenerationCaps.DefaultSlmMaxTokens, settings.RootElement.GetProperty("Orchestrator").GetProperty("SlmMaxTokens").GetInt32());
        Assert.Equal(GenerationCaps.DefaultLlmMaxTokens, new LabelOptions().MaxAnswerTokens);
    }

    [Fact]
    public void LabellingReadsTheServingKeysFromTheEnvironment()
    {
        var environment = new Dictionary<string, string> { ["Llm__MaxAnswerTokens"] = "300", ["Orchestrator__SlmMaxTokens"] = "120" };

        Assert.Equal(new GenerationCaps(300, 120), GenerationCaps.FromEnvironment(environment.GetValueOrDefault));
        Assert.Equal(GenerationCaps.Default, GenerationCaps.FromEnvironment(_ => null));
        var bad = Assert.Throws<ArgumentException>(() => GenerationCaps.FromEnvironment(k => k == "Llm__MaxAnswerTokens" ? "lots" : null));
        Assert.Contains("Llm__MaxAnswerTokens", bad.Message, StringComparison.Ordinal);
    }
}
