using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;
using Shepherd.Llm;

namespace Shepherd.Cli.Labelling;

/// <summary>
/// Labelling's paid LLM, wired by the orchestrator's own <see cref="PaidLlmServiceCollectionExtensions.AddPaidLlm"/>
/// from Llm:* and Storage:* settings, validated as at the orchestrator's start-up (an unpriced model stops here).
/// Dispose the provider to commit the ledger's queued rows.
/// </summary>
public static class LabelLlm
{
    public static ServiceProvider Build(Uri slmAddress, IReadOnlyDictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings.Where(s => s.Value is not null)).Build());
        services.AddLogging();
        services.AddGrpcClient<SlmService.SlmServiceClient>(o => o.Address = slmAddress);
        services.AddPaidLlm(_ => slmAddress.ToString(), standInNamedByAddress: false);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        provider.GetRequiredService<IStartupValidator>().Validate();
        return provider;
    }

    /// <summary>The settings of the label command's LLM flags (null: the default).</summary>
    public static Dictionary<string, string?> Settings(string database, int maxAnswerTokens, string? baseUrl, string? model, string? keyFile, bool hintCache = true) => new()
    {
        ["Storage:SqlitePath"] = database,
        ["Storage:HintCacheEnabled"] = hintCache ? "true" : "false",
        ["Llm:MaxAnswerTokens"] = maxAnswerTokens.ToString(CultureInfo.InvariantCulture),
        ["Llm:BaseUrl"] = baseUrl,
        ["Llm:Model"] = model,
        ["Llm:ApiKeyFile"] = keyFile,
        // A key file given on the command line wins over GROQ_API_KEY.
        ["Llm:ApiKeyVariable"] = keyFile is null ? null : "SHEPHERD_LABEL_UNUSED_KEY_VARIABLE",
    };
}
