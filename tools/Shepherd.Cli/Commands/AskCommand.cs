using System.CommandLine;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Shepherd.Cli.Hosting;
using Shepherd.Contracts.V1;
using Shepherd.Core.Strategies;
using Shepherd.Llm;
using Spectre.Console;

namespace Shepherd.Cli.Commands;

/// <summary>
/// <c>shepherd ask "question" --task gsm8k --strategy reactive</c>: one Answer through the edge, printed with its
/// cost and decision trace. Without --address and with nothing listening on the default edge port, it starts the
/// local stack for this one question and stops it afterwards.
/// </summary>
public static class AskCommand
{
    public static Command Create()
    {
        var query = new Argument<string>("query") { Description = "The question" };
        var task = new Option<string>("--task") { Description = "gsm8k, cnk12, humaneval, mbpp or generic", DefaultValueFactory = _ => "gsm8k" };
        task.AcceptOnlyFromAmong("gsm8k", "cnk12", "humaneval", "mbpp", "generic");
        var strategy = new Option<string>("--strategy") { Description = "slm, llm, route, cascade-abc, cascade-scorer, proactive or reactive", DefaultValueFactory = _ => "reactive" };
        strategy.AcceptOnlyFromAmong([.. StrategyNames.Wire]);
        var address = UriOption.Create("--address", "The edge (default http://127.0.0.1:5100; started for this question when nothing listens there)");
        var apiKey = new Option<string?>("--api-key") { Description = "API key (default: SHEPHERD_API_KEY, else the development key in .shepherd/dev-api-key)" };
        var alpha = new Option<double?>("--alpha") { Description = "Override α, in [0, 1]" };
        var eta = new Option<int?>("--eta") { Description = "Override η_hint" };
        var samples = new Option<int?>("--samples") { Description = "K, SLM samples for consensus" };
        var agree = new Option<int?>("--agree") { Description = "k, agreeing samples needed" };
        var maxHint = new Option<int?>("--max-hint-tokens") { Description = "Upper bound of the hint" };
        var json = new Option<bool>("--json") { Description = "Print the AnswerResponse as JSON" };
        var command = new Command("ask", "Ask Shepherd a question and print the answer, its cost and the decision trace")
        {
            query, task, strategy, address, apiKey, alpha, eta, samples, agree, maxHint, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var request = new AnswerRequest
            {
                Query = parse.GetRequiredValue(query),
                Task = ProtoNames.ToProto(parse.GetValue(task)!),
                Strategy = Parse(parse.GetValue(strategy)!),
            };
            if (parse.GetValue(alpha) is { } a)
            {
                request.Alpha = a;
            }

            if (parse.GetValue(eta) is { } e)
            {
                request.EtaHint = e;
            }

            if (parse.GetValue(samples) is { } k)
            {
                request.Samples = k;
            }

            if (parse.GetValue(agree) is { } g)
            {
                request.Agree = g;
            }

            if (parse.GetValue(maxHint) is { } m)
            {
                request.MaxHintTokens = m;
            }

            LocalStack? stack = null;
            try
            {
                var target = parse.GetValue(address);
                if (target is null)
                {
                    target = new Uri("http://127.0.0.1:5100");
                    if (!await ReachableAsync(target, ct))
                    {
                        AnsiConsole.MarkupLine("[grey]no edge on 127.0.0.1:5100: starting the local stack for this question (shepherd up keeps it running) …[/]");
                        stack = await LocalStack.StartAsync(StackPorts.Ephemeral, null, null, null, ct);
                        target = stack.EdgeAddress;
                    }
                }

                var key = parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("SHEPHERD_API_KEY") ?? LocalStack.DevApiKey(LocalStack.DefaultHome);
                using var channel = GrpcChannel.ForAddress(target);
                var client = new ShepherdService.ShepherdServiceClient(channel);
                var response = await client.AnswerAsync(request, new Metadata { { "authorization", "Bearer " + key } }, DateTime.UtcNow.AddMinutes(5), ct);
                if (parse.GetValue(json))
                {
                    Console.WriteLine(JsonFormatter.Default.Format(response));
                }
                else
                {
                    Render(response);
                }

                return 0;
            }
            finally
            {
                if (stack is not null)
                {
                    await stack.DisposeAsync();
                }
            }
        });
        return command;
    }

    private static Strategy Parse(string name) => ProtoNames.ToProto(StrategyNames.Parse(name));

    private static async Task<bool> ReachableAsync(Uri address, CancellationToken ct)
    {
        try
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(TimeSpan.FromSeconds(1));
            await tcp.ConnectAsync(address.Host, address.Port, cts.Token);
            return true;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static void Render(AnswerResponse r)
    {
        if (r.LlmStandIn)
        {
            AnsiConsole.MarkupLine("[yellow]The LLM is a local stand-in (no GROQ_API_KEY): its answers, accuracy and cost mean nothing.[/]");
        }

        AnsiConsole.MarkupLine($"[bold]answer[/] ({Markup.Escape(r.Strategy.ToString())}, request {Markup.Escape(r.RequestId)})");
        AnsiConsole.WriteLine(r.Answer.Trim());
        AnsiConsole.MarkupLine($"[bold]final answer[/]: {Markup.Escape(r.FinalAnswer.Length > 0 ? r.FinalAnswer : "(none found)")}");
        AnsiConsole.MarkupLine($"[bold]path[/]: {Markup.Escape(string.Join(" → ", r.Path))}");
        if (r.Hint is { Tokens: > 0 } hint)
        {
            AnsiConsole.MarkupLine($"[bold]hint[/]: {hint.Tokens} tokens{(hint.Cached ? " (cached, free)" : "")}: {Markup.Escape(hint.Text)}");
        }

        AnsiConsole.MarkupLine($"[bold]cost[/]: ${r.Cost.TotalUsd:F8} (LLM in ${r.Cost.LlmInputUsd:F8}, LLM out ${r.Cost.LlmOutputUsd:F8}, SLM ${r.Cost.SlmUsd:F8})");
        var usage = new Table().AddColumns("model", "role", "calls", "prompt tokens", "completion tokens", "stand-in");
        foreach (var u in r.Usage)
        {
            usage.AddRow(Markup.Escape(u.Model), u.Role, u.Calls.ToString(), u.PromptTokens.ToString(), u.CompletionTokens.ToString(), u.LocalStandIn ? "yes" : "no");
        }

        AnsiConsole.Write(usage);
        var t = r.Trace;
        AnsiConsole.MarkupLine($"[bold]trace[/]: votes [[{Markup.Escape(string.Join(", ", t.Votes.Select(v => v.Length == 0 ? "∅" : v)))}]], agreeing {t.Agreeing}/{t.Samples} (k = {t.Agree}), consensus {t.Consensus}"
            + (t.HasPHint ? $", P(hint) {t.PHint:F3} vs α {t.Alpha:F3}, r̂ {t.RawSize:F3}" : "")
            + (t.HasDecidedHintTokens ? $", n = {t.DecidedHintTokens} (η {t.EtaHint})" : "")
            + (t.HasRoutedToLlm ? $", routed to LLM {t.RoutedToLlm}" : "")
            + (t.HasScorerConfidence ? $", scorer confidence {t.ScorerConfidence:F3}" : ""));
        AnsiConsole.MarkupLine($"[bold]latency[/]: {Markup.Escape(string.Join(", ", r.Latencies.Select(l => $"{l.Stage} {l.Ms:F1} ms")))}");
        if (r.Degraded)
        {
            AnsiConsole.MarkupLine($"[red]degraded[/]: {Markup.Escape(string.Join("; ", r.Degradations))}");
        }
    }
}
