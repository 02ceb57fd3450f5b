using System.Text.Json;
using Shepherd.Core.Datasets;
using Shepherd.Core.Tasks;

namespace Shepherd.Core.Grading;

/// <summary>
/// The logic behind <c>shepherd grade</c>: explains one grading (extracted answers, keys, verdict) or grades a
/// JSON Lines batch. The CLI only maps its arguments onto these methods.
/// </summary>
public sealed class Grader(TaskRegistry registry, string? dataDirectory = null)
{
    /// <summary>Grades <paramref name="output"/> against a known item.</summary>
    public async Task<GradeReport> ExplainAsync(TaskItem item, string output, CancellationToken cancellationToken = default)
    {
        var kind = registry.Get(item.Kind);
        var grade = await kind.GradeAsync(item, output, cancellationToken).ConfigureAwait(false);
        return new GradeReport(kind.Name, item.Id, kind.ExtractReference(item), grade.Answer, grade.Passed, grade.Undecidable, grade.Reason, grade.Execution);
    }

    /// <summary>
    /// Grades with a reference given as text. What the reference is depends on the kind: gsm8k a number or a
    /// solution ending in "#### n"; cnk12 a LaTeX answer; humaneval and mbpp a task id ("HumanEval/0", "mbpp/11")
    /// looked up in the data folder; generic the reference answer, or the assert lines for python-tests.
    /// </summary>
    public Task<GradeReport> ExplainAsync(string kind, string reference, string output, string? grader = null, CancellationToken cancellationToken = default) =>
        ExplainAsync(ResolveItem(kind, reference, grader, id: null), output, cancellationToken);

    /// <summary>
    /// Grades JSON Lines <c>{"task", "reference"?, "id"?, "grader"?, "output"}</c> ("kind" is accepted for
    /// "task"; code kinds may give only the id), writes one report object per line in input order, and returns
    /// the counts. A malformed line fails with its line number before anything is graded.
    /// </summary>
    public async Task<GradeBatchSummary> GradeBatchAsync(TextReader input, TextWriter output, string source = "<batch>", CancellationToken cancellationToken = default)
    {
        var requests = new List<(long Line, TaskItem Item, string Output)>();
        long number = 0;
        while (await input.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            requests.Add(ParseRequest(line, number, source));
        }

        var reports = new GradeReport[requests.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, requests.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, registry.Sandbox.Options.MaxParallelism), CancellationToken = cancellationToken },
            async (i, token) => reports[i] = await ExplainAsync(requests[i].Item, requests[i].Output, token).ConfigureAwait(false)).ConfigureAwait(false);

        for (var i = 0; i < reports.Length; i++)
        {
            await output.WriteLineAsync(reports[i].ToJson(requests[i].Line)).ConfigureAwait(false);
        }

        return new GradeBatchSummary(
            reports.Length,
            reports.Count(r => r.Passed),
            reports.Count(r => !r.Passed && !r.Undecidable),
            reports.Count(r => r.Undecidable));
    }

    private (long, TaskItem, string) ParseRequest(string line, long number, string source)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new DatasetFormatException(source, number, "not a JSON object");
            }

            string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var kind = Text("task") ?? Text("kind") ?? throw new DatasetFormatException(source, number, "missing 'task'");
            var output = Text("output") ?? throw new DatasetFormatException(source, number, "missing 'output'");
            var item = ResolveItem(kind, Text("reference"), Text("grader"), Text("id"));
            return (number, item, output);
        }
        catch (JsonException e)
        {
            throw new DatasetFormatException(source, number, $"invalid JSON: {e.Message}", e);
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or DirectoryNotFoundException)
        {
            throw new DatasetFormatException(source, number, e.Message, e);
        }
    }

    private TaskItem ResolveItem(string kindName, string? reference, string? grader, string? id)
    {
        var kind = registry.Get(kindName).Name;
        switch (kind)
        {
            case HumanEvalTask.KindName or MbppTask.KindName:
                {
                    var wanted = id ?? reference ?? throw new ArgumentException($"{kind} needs a task id (e.g. {(kind == MbppTask.KindName ? "mbpp/11" : "HumanEval/0")}).");
                    var items = DatasetCatalog.Load(kind, DatasetSplits.All, dataDirectory);
                    return items.FirstOrDefault(i => string.Equals(i.Id, wanted.Trim(), StringComparison.OrdinalIgnoreCase))
                        ?? throw new KeyNotFoundException($"No {kind} task with id '{wanted}'.");
                }

            case GenericTask.KindName:
                {
                    var graderName = GenericTask.GraderOf(grader);
                    var text = reference ?? throw new ArgumentException("generic needs a reference.");
                    var item = new TaskItem(id ?? "cli", kind, "", text) { Grader = graderName };
                    return graderName == GenericTask.PythonTestsGrader
                        ? item with { Tests = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries) }
                        : item;
                }

            default:
                return new TaskItem(id ?? "cli", kind, "", reference ?? throw new ArgumentException($"{kind} needs a reference."));
        }
    }
}
