using System.CommandLine;
using Shepherd.Core.Configuration;
using Shepherd.Core.Grading;
using Shepherd.Core.Tasks;

namespace Shepherd.Cli.Commands;

/// <summary>
/// <c>shepherd grade --task KIND --reference REF --output OUT</c> prints the extracted answers, their keys and the
/// verdict; <c>--batch FILE.jsonl</c> grades many (one JSON verdict per line, then a summary).
/// For code tasks the reference is a task id (HumanEval/0, mbpp/11) looked up in the data folder.
/// </summary>
public static class GradeCommand
{
    public static Command Create()
    {
        var task = new Option<string?>("--task") { Description = "gsm8k, cnk12, humaneval, mbpp or generic" };
        var reference = new Option<string?>("--reference") { Description = "Reference answer (or task id for code tasks)" };
        var output = new Option<string?>("--output") { Description = "Model output to grade (use @file to read a file)" };
        var grader = new Option<string?>("--grader") { Description = "generic tasks: exact, numeric, math or python-tests" };
        var batch = new Option<FileInfo?>("--batch") { Description = "JSONL of {task, reference, output[, grader, id]}; '-' reads stdin" };
        var json = new Option<bool>("--json") { Description = "Print the single report as JSON" };
        var command = new Command("grade", "Grade a model output the way Shepherd's labels and evaluations do") { task, reference, output, grader, batch, json };
        command.SetAction(async (parse, ct) =>
        {
            var grading = new Grader(TaskRegistry.Shared, ShepherdPaths.DataDirectory);
            if (parse.GetValue(batch) is { } file)
            {
                using var reader = file.Name == "-" ? Console.In : file.OpenText();
                var summary = await grading.GradeBatchAsync(reader, Console.Out, file.Name, ct);
                Console.Error.WriteLine(summary);
                return summary.Failed + summary.Undecidable == 0 ? 0 : 1;
            }

            var kind = parse.GetValue(task) ?? throw new InvalidOperationException("--task is required (or use --batch)");
            var text = parse.GetValue(output) ?? throw new InvalidOperationException("--output is required (or use --batch)");
            if (text.StartsWith('@'))
            {
                text = await File.ReadAllTextAsync(text[1..], ct);
            }

            var report = await grading.ExplainAsync(kind, parse.GetValue(reference) ?? "", text, parse.GetValue(grader), ct);
            Console.WriteLine(parse.GetValue(json) ? report.ToJson() : report.ToText());
            return report.Passed ? 0 : 1;
        });
        return command;
    }
}
