using System.CommandLine;
using Shepherd.Cli.Hosting;
using Spectre.Console;

namespace Shepherd.Cli.Commands;

/// <summary><c>shepherd up</c>: the four services on 127.0.0.1 until Ctrl-C.</summary>
public static class UpCommand
{
    public static Command Create()
    {
        var edgePort = new Option<int>("--port") { Description = "The edge's port (the public entry point)", DefaultValueFactory = _ => 5100 };
        var model = new Option<string?>("--model") { Description = "GGUF for the SLM (default: the stories260K fixture)" };
        var command = new Command("up", "Start slm-service, policy-service, orchestrator and edge locally (Ctrl-C stops them)") { edgePort, model };
        command.SetAction(async (parse, ct) =>
        {
            var port = parse.GetValue(edgePort);
            await using var stack = await LocalStack.StartAsync(new StackPorts(Edge: port, Slm: port + 1, Orchestrator: port + 2, Policy: port + 3), parse.GetValue(model), null, null, ct);
            AnsiConsole.MarkupLine($"[green]Shepherd is up.[/] Edge (public gRPC, h2c): [bold]{stack.EdgeAddress}[/]");
            foreach (var service in stack.Services)
            {
                AnsiConsole.MarkupLine($"  {service.Name,-24} {service.Address}  pid {service.ProcessId}");
            }

            AnsiConsole.MarkupLine($"API key (development, admin): [bold]{Markup.Escape(stack.ApiKey)}[/] (stored in {Markup.Escape(Path.Combine(stack.Home, "dev-api-key"))})");
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("GROQ_API_KEY")))
            {
                AnsiConsole.MarkupLine("[yellow]No GROQ_API_KEY: the LLM is a local llama.cpp stand-in; its answers, accuracy and cost mean nothing.[/]");
            }

            AnsiConsole.MarkupLine($"Try: scripts/shepherd ask \"What is 17 * 3?\" --task gsm8k --strategy reactive --address {stack.EdgeAddress}");
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
            }

            AnsiConsole.MarkupLine("[grey]stopping …[/]");
            return 0;
        });
        return command;
    }
}
