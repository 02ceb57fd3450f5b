using Microsoft.Extensions.Options;
using Shepherd.Llm;

namespace Shepherd.Orchestrator.Tests;

/// <summary>No paid call can go unrecorded: an LLM model without a price stops start-up, naming the keys to set.</summary>
public sealed class StartupValidationTests
{
    [Fact]
    public async Task AnLlmModelWithoutAPriceStopsStartUpNamingTheKeyToSet()
    {
        var app = OrchestratorApp.Build(["--urls", "http://127.0.0.1:0"], b =>
        {
            b.Configuration["Llm:Model"] = "unpriced-model";
            b.Configuration["Storage:SqlitePath"] = Path.Combine(Path.GetTempPath(), $"shepherd-startup-{Guid.NewGuid():N}.db");
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("Llm:Pricing:unpriced-model:InputPerMillion", error.Message, StringComparison.Ordinal);
        await app.DisposeAsync();
    }

    [Fact]
    public void APricedModelPassesAndAConfiguredPriceCounts()
    {
        Assert.Null(PaidLlmFactory.MissingPrice(new LlmOptions()));
        Assert.Null(PaidLlmFactory.MissingPrice(new LlmOptions { Model = "m", Pricing = { ["m"] = new PriceOptions { InputPerMillion = 1, OutputPerMillion = 2 } } }));
        Assert.NotNull(PaidLlmFactory.MissingPrice(new LlmOptions { Model = "m" }));
    }
}
