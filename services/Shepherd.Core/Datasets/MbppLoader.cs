using System.Text.RegularExpressions;
using Shepherd.Core.Tasks;

namespace Shepherd.Core.Datasets;

/// <summary>
/// MBPP from <c>mbpp/mbpp.jsonl</c> with the standard split by task_id: 1–10 prompt (few-shot examples),
/// 11–510 test, 511–600 validation, 601–974 train. Id "mbpp/{task_id}"; Query = text, Reference = code,
/// Tests = test_list, TestSetup = test_setup_code, EntryPoint = the function test_list[0] calls that the
/// reference defines.
/// </summary>
public static partial class MbppLoader
{
    public const string Name = "mbpp";

    public static IReadOnlyList<string> Splits { get; } =
        [DatasetSplits.Prompt, DatasetSplits.Test, DatasetSplits.Validation, DatasetSplits.Train, DatasetSplits.All];

    public static string? SplitOf(int taskId) => taskId switch
    {
        >= 1 and <= 10 => DatasetSplits.Prompt,
        >= 11 and <= 510 => DatasetSplits.Test,
        >= 511 and <= 600 => DatasetSplits.Validation,
        >= 601 and <= 974 => DatasetSplits.Train,
        _ => null,
    };

    public static IReadOnlyList<TaskItem> Load(string dataDirectory, string split)
    {
        split = DatasetSplits.Normalize(split);
        if (!Splits.Contains(split))
        {
            throw new ArgumentException($"Unknown MBPP split '{split}'. Known: {string.Join(", ", Splits)}.", nameof(split));
        }

        var path = Path.Combine(dataDirectory, "mbpp", "mbpp.jsonl");
        var items = new List<TaskItem>();
        foreach (var record in JsonLines.Read(path))
        {
            var taskId = record.Int("task_id");
            var own = SplitOf(taskId) ?? throw record.Error($"task_id {taskId} is outside 1–974");
            var code = record.String("code");
            var tests = record.StringList("test_list");
            if (tests.Count == 0)
            {
                throw record.Error("test_list is empty");
            }

            if (split != DatasetSplits.All && split != own)
            {
                continue;
            }

            items.Add(new TaskItem($"mbpp/{taskId}", MbppTask.KindName, record.String("text"), code)
            {
                Tests = tests,
                TestSetup = record.OptionalString("test_setup_code") ?? "",
                EntryPoint = EntryPoint(code, tests[0]),
                Split = own,
            });
        }

        return items;
    }

    /// <summary>The first function called in <paramref name="test"/> that <paramref name="code"/> defines.</summary>
    public static string? EntryPoint(string code, string test)
    {
        var calls = Call().Matches(test).Select(m => m.Groups[1].Value).ToList();
        return calls.FirstOrDefault(name => Regex.IsMatch(code, @"^\s*def\s+" + Regex.Escape(name) + @"\s*\(", RegexOptions.Multiline))
            ?? calls.FirstOrDefault(name => name is not ("assert" or "set" or "list" or "tuple" or "sorted" or "abs" or "round" or "str" or "int" or "float" or "len"));
    }

    [GeneratedRegex(@"([A-Za-z_]\w*)\s*\(")]
    private static partial Regex Call();
}
