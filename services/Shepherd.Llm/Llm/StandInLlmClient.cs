using Grpc.Core;
using Microsoft.Extensions.Options;
using Shepherd.Contracts.V1;

namespace Shepherd.Llm;

/// <summary>
/// The LLM when no key is configured: another llama.cpp model behind an slm-service, decoding greedily (temperature
/// 0, as the paper asks of the LLM). It is priced as the configured LLM so the cost path runs end to end, and every
/// answer says it came from a stand-in whose accuracy and cost mean nothing.
/// </summary>
public sealed class StandInLlmClient(StandInSlmClient client, IOptions<LlmOptions> options) : ILlmClient
{
    public string Model => options.Value.Model;

    public bool IsStandIn => true;

    public string Source => LlmSources.StandIn(client.SourceAddress);

    public string Endpoint => LlmSources.Normalize(client.Address);

    public async Task<LlmCompletion> CompleteAsync(LlmRequest request, CancellationToken cancellationToken)
    {
        var generate = new GenerateRequest { MaxTokens = Math.Min(request.MaxTokens, 4096), Temperature = 0, N = 1 };
        generate.Messages.AddRange(request.Messages.Select(m => new ChatMessage { Role = m.Role, Content = m.Content }));
        try
        {
            var cap = DateTime.UtcNow.AddSeconds(options.Value.TimeoutSeconds);
            var response = await client.Client.GenerateAsync(
                generate,
                deadline: request.Deadline is { } deadline && deadline < cap ? deadline : cap,
                cancellationToken: cancellationToken);
            var completion = response.Completions[0];
            return new LlmCompletion(
                completion.Text, Model, response.PromptTokens, completion.GeneratedTokens,
                Complete: completion.FinishReason == FinishReason.Stop, StandIn: true, Cached: false, Attempts: 1);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.ResourceExhausted)
        {
            throw new LlmUnavailableException("LLM stand-in overloaded (ResourceExhausted)", ex) { Overloaded = true, RetryAfter = RetryAdvice.From(ex) };
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Unknown)
        {
            throw new LlmUnavailableException($"LLM stand-in unavailable ({ex.StatusCode})", ex);
        }
    }
}

/// <summary>The gRPC client of the slm-service that plays the LLM, and its address.</summary>
/// <param name="namedByAddress">Whether the hint-cache source names the address (else "stand-in:slm-service").</param>
public sealed class StandInSlmClient(SlmService.SlmServiceClient client, string address, bool namedByAddress = true)
{
    public SlmService.SlmServiceClient Client { get; } = client;

    /// <summary>Where the stand-in is: Llm:StandInAddress, else the SLM's address.</summary>
    public string Address { get; } = address;

    /// <summary>The address the hint-cache source names: <see cref="Address"/>, or "" for "stand-in:slm-service".</summary>
    public string SourceAddress => namedByAddress ? Address : "";
}

/// <summary>The <see cref="ILlmClient.Source"/> of each kind of LLM, normalised so one place cannot be spelt two ways.</summary>
public static class LlmSources
{
    public static string Endpoint(string baseUrl) => Normalize(baseUrl);

    public static string StandIn(string address) => "stand-in:" + (address.Length == 0 ? "slm-service" : Normalize(address));

    /// <summary>scheme://host:port/path, lower-case host, no trailing slash; text that is not a URL, trimmed.</summary>
    public static string Normalize(string address) =>
        Uri.TryCreate(address.Trim(), UriKind.Absolute, out var uri)
            ? $"{uri.Scheme}://{uri.Host.ToLowerInvariant()}:{uri.Port}{uri.AbsolutePath.TrimEnd('/')}"
            : address.Trim();
}
