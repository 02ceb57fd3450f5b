using System.CommandLine;
using Shepherd.Cli.Hosting;
using Spectre.Console;

namespace Shepherd.Cli.Commands;

/// <summary>
/// <c>shepherd up</c>: the four services on 127.0.0.1 until Ctrl-C. A service that exits on its own is named, the
/// others are stopped and <c>up</c> exits with <see cref="ServiceExited"/>; the services stop with <c>up</c> even when
/// it is killed (ServiceProcess.WatchParent).
/// </summary>
public static class UpCommand
{
    public const int ServiceExited = 3;

    public static Command Create()
    {
        var edgePort = new Option<int>("--port") { Description = "The edge's port (the public entry point)", DefaultValueFactory = _ => 5100 };
        var model = new Option<string?>("--model") { Description = "GGUF for the SLM (default: the stories260K fixture)" };
        var home = new Option<string?>("--home") { Description = "Folder for the demo policy bundles, the development API key and the ledger (default: .shepherd)" };
        var command = new Command("up", $"Start slm-service, policy-service, orchestrator and edge locally (Ctrl-C stops them; exit code {ServiceExited} when one of them exits)") { edgePort, model, home };
        command.SetAction(async (parse, ct) =>
        {
            var port = parse.GetValue(edgePort);
            await using var stack = await LocalStack.StartAsync(new StackPorts(Edge: port, Slm: port + 1, Orchestrator: port + 2, Policy: port + 3, EdgeHttp1: port + 4), parse.GetValue(model), parse.GetValue(home), null, ct);
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
            if (await stack.WaitForAnyExitAsync(ct) is { } exited)
            {
                Console.Error.WriteLine($"shepherd up: {exited.Name} (pid {exited.ProcessId}) exited with code {exited.ExitCode}; stopping the other services. Its last output:");
                Console.Error.WriteLine(exited.RecentLog());
                return ServiceExited;
            }

            AnsiConsole.MarkupLine("[grey]stopping …[/]");
            return 0;
        });
        return command;
    }
}
