using System.CommandLine;
using Grpc.Net.Client;
using Shepherd.Cli.Hosting;
using Shepherd.Contracts.V1;
using Shepherd.Core.Configuration;
using Spectre.Console;

namespace Shepherd.Cli.Commands;

/// <summary>
/// <c>shepherd slm "prompt"</c>: asks the slm-service for completions and prints them with their token counts,
/// entropy and finish reasons. Without --address it starts the service on the fixture model first.
/// </summary>
public static class SlmCommand
{
    public static Command Create()
    {
        var prompt = new Argument<string>("prompt") { Description = "The prompt to complete" };
        var samples = new Option<int>("--n") { Description = "Number of samples (they share one prefill)", DefaultValueFactory = _ => 3 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens per completion", DefaultValueFactory = _ => 48 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature (0 = greedy)", DefaultValueFactory = _ => 0.8f };
        var seed = new Option<ulong?>("--seed") { Description = "Seed; completion i uses seed + i" };
        var hint = new Option<string?>("--hint") { Description = "An LLM hint to condition on" };
        var hintMode = new Option<string>("--hint-mode") { Description = "line (the paper's Hint: line) or continuation", DefaultValueFactory = _ => "line" };
        hintMode.AcceptOnlyFromAmong("line", "continuation");
        var address = UriOption.Create("--address", "A running slm-service; omitted: start one on the fixture model");
        var model = new Option<string?>("--model") { Description = "GGUF model for the started service (default: the stories260K fixture)" };

        var command = new Command("slm", "Ask the slm-service for completions") { prompt, samples, maxTokens, temperature, seed, hint, hintMode, address, model };
        command.SetAction(async (parse, ct) =>
        {
            var request = new GenerateRequest
            {
                Prompt = parse.GetRequiredValue(prompt),
                N = parse.GetValue(samples),
                MaxTokens = parse.GetValue(maxTokens),
                Temperature = parse.GetValue(temperature),
            };
            if (parse.GetValue(seed) is { } s)
            {
                request.Seed = s;
            }

            if (parse.GetValue(hint) is { Length: > 0 } h)
            {
                request.Hint = new Hint { Text = h, Mode = parse.GetValue(hintMode) == "continuation" ? HintMode.Continuation : HintMode.PromptLine };
            }

            ServiceProcess? started = null;
            try
            {
                var target = parse.GetValue(address);
                if (target is null)
                {
                    var modelPath = parse.GetValue(model) ?? ShepherdPaths.FixtureModel
                        ?? throw new InvalidOperationException("no model: pass --model or put stories260K.gguf where SHEPHERD_MODELS points (scripts/fetch-fixtures.sh)");
                    AnsiConsole.MarkupLine($"[grey]starting slm-service on {Markup.Escape(modelPath)} …[/]");
                    started = await ServiceProcess.StartAsync("Shepherd.Slm", new Dictionary<string, string> { ["Slm__ModelPath"] = modelPath }, TimeSpan.FromSeconds(60), ct);
                    target = started.Address;
                }

                using var channel = GrpcChannel.ForAddress(target);
                var client = new SlmService.SlmServiceClient(channel);
                var info = await client.InfoAsync(new SlmServiceInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct);
                var response = await client.GenerateAsync(request, deadline: DateTime.UtcNow.AddMinutes(5), cancellationToken: ct);
                Render(info, request, response);
                return 0;
            }
            finally
            {
                if (started is not null)
                {
                    await started.DisposeAsync();
                }
            }
        });
        return command;
    }

    private static void Render(SlmServiceInfoResponse info, GenerateRequest request, GenerateResponse response)
    {
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(info.ModelName)}[/] · backend {info.Backend} · context {info.ContextSize} · vocab {info.VocabSize} · chat template {(info.HasChatTemplate ? "yes" : "no (plain template)")}");
        AnsiConsole.MarkupLine($"prompt tokens {response.PromptTokens} · prefill {response.Timings.PrefillMs:F1} ms · decode {response.Timings.DecodeMs:F1} ms · queue {response.Timings.QueueMs:F1} ms");
        var table = new Table().AddColumns("#", "tokens", "entropy (nats)", "finish", "text");
        foreach (var c in response.Completions)
        {
            table.AddRow(c.Index.ToString(), c.GeneratedTokens.ToString(), c.MeanEntropy.ToString("F3"), c.FinishReason.ToString(), Markup.Escape(request.Prompt + (request.Hint?.Mode == HintMode.Continuation ? request.Hint.Text : "") + c.Text));
        }

        AnsiConsole.Write(table);
    }
}
