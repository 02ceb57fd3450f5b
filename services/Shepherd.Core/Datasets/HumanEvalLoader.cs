using Shepherd.Core.Tasks;

namespace Shepherd.Core.Datasets;

/// <summary>HumanEval from <c>humaneval/HumanEval.jsonl.gz</c>: all 164 problems form the test split.
/// Query = prompt, Reference = canonical_solution, TestCode = test, EntryPoint = entry_point.</summary>
public static class HumanEvalLoader
{
    public const string Name = "humaneval";

    public static IReadOnlyList<string> Splits { get; } = [DatasetSplits.Test, DatasetSplits.All];

    public static IReadOnlyList<TaskItem> Load(string dataDirectory, string split)
    {
        split = DatasetSplits.Normalize(split);
        if (split is not (DatasetSplits.Test or DatasetSplits.All))
        {
            throw new ArgumentException($"HumanEval has only a test split (known: {string.Join(", ", Splits)}).", nameof(split));
        }

        var path = Path.Combine(dataDirectory, "humaneval", "HumanEval.jsonl.gz");
        var items = new List<TaskItem>();
        foreach (var record in JsonLines.Read(path))
        {
            items.Add(new TaskItem(record.String("task_id"), HumanEvalTask.KindName, record.String("prompt"), record.String("canonical_solution"))
            {
                EntryPoint = record.String("entry_point"),
                TestCode = record.String("test"),
                Split = DatasetSplits.Test,
            });
        }

        return items;
    }
}
