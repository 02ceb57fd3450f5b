using System.CommandLine;
using Shepherd.Cli.Embeddings;
using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Training;
using Spectre.Console;

namespace Shepherd.Cli.Commands;

/// <summary><c>shepherd train --labels FILE --out BUNDLE [--mode proactive|reactive]</c>.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var labels = new Option<FileInfo>("--labels") { Description = "Label JSONL (docs/labels.md)", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "Bundle directory to write (policy.json + heads.onnx)", Required = true };
        var mode = new Option<string>("--mode") { Description = "proactive (query only) or reactive (query + SLM features)", DefaultValueFactory = _ => "proactive" };
        mode.AcceptOnlyFromAmong("proactive", "reactive");
        var epochs = new Option<int>("--epochs") { Description = "Maximum epochs (early stopping on validation loss)", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "Seed: the same seed and labels give the same model", DefaultValueFactory = _ => 42 };
        var command = new Command("train", "Train the two-head hint predictor and write an ONNX policy bundle") { labels, output, mode, epochs, seed };
        command.SetAction((parse, ct) =>
        {
            var options = new PolicyTrainingOptions
            {
                Mode = PolicyModes.Parse(parse.GetValue(mode)!),
                MaxEpochs = parse.GetValue(epochs),
                Seed = parse.GetValue(seed),
            };
            var labelFile = parse.GetRequiredValue(labels);
            if (!labelFile.Exists)
            {
                throw new InvalidOperationException($"label file '{labelFile.FullName}' does not exist");
            }

            PolicyTrainingResult? result = null;
            using var encoder = EmbeddingCache.Open(options.Encoder, options.EncoderBaseDirectory, options.EncoderRuntime);
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(progress =>
                {
                    var task = progress.AddTask("encoding", maxValue: options.MaxEpochs);
                    var reporter = new Progress<TrainProgress>(p =>
                    {
                        if (p.Stage == TrainStage.Training)
                        {
                            task.Description = $"epoch {p.Epoch}: train {p.TrainLoss:F4}, val {p.ValidationLoss:F4}, AUC {p.ValidationAuc:F3}{(p.Improved ? " *" : "")}";
                            task.Value = p.Epoch;
                        }
                        else
                        {
                            task.Description = Markup.Escape(p.Message);
                        }
                    });
                    result = PolicyTrainer.TrainFile(labelFile.FullName, parse.GetRequiredValue(output).FullName, encoder, options, reporter, ct);
                    task.Value = task.MaxValue;
                });
            AnsiConsole.WriteLine(result!.Summary.Format());
            if (EmbeddingCache.Describe(encoder) is { } cache)
            {
                AnsiConsole.MarkupLine($"[grey]{Markup.Escape(cache)}[/]");
            }

            AnsiConsole.MarkupLine($"[green]bundle written to {Markup.Escape(parse.GetRequiredValue(output).FullName)}[/]");
            return Task.FromResult(0);
        });
        return command;
    }
}
