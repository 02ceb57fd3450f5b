using System.Globalization;
using Shepherd.Core.Tasks;

namespace Shepherd.Core.Datasets;

/// <summary>
/// GSM8K from <c>gsm8k/train.jsonl</c> and <c>gsm8k/test.jsonl</c> (<c>{"question", "answer"}</c>).
/// </summary>
/// <remarks>
/// The paper splits the 1,319 test rows into 776 test + 543 validation. Rule (see docs/datasets.md): number the
/// rows of test.jsonl from 0 in file order; order them by the hex SHA-256 of "shepherd-gsm8k-split-v1:{row}"
/// (<see cref="SeededSplit"/>); the first 776 are test, the other 543 validation. Ids are "gsm8k/train/{row}" and
/// "gsm8k/test/{row}" whatever the split, so an id never changes meaning. Items come back in file order.
/// </remarks>
public static class Gsm8kLoader
{
    public const string Name = "gsm8k";
    public const string SplitSeed = "shepherd-gsm8k-split-v1";
    public const int TestRows = 1319;
    public const int PaperTestCount = 776;
    public const int PaperValidationCount = 543;

    public static IReadOnlyList<string> Splits { get; } =
        [DatasetSplits.Train, DatasetSplits.Validation, DatasetSplits.Test, DatasetSplits.FullTest, DatasetSplits.All];

    public static IReadOnlyList<TaskItem> Load(string dataDirectory, string split)
    {
        split = DatasetSplits.Normalize(split);
        var trainPath = Path.Combine(dataDirectory, "gsm8k", "train.jsonl");
        var testPath = Path.Combine(dataDirectory, "gsm8k", "test.jsonl");
        switch (split)
        {
            case DatasetSplits.Train:
                return Read(trainPath, "train", DatasetSplits.Train);
            case DatasetSplits.FullTest:
                return Read(testPath, "test", DatasetSplits.FullTest);
            case DatasetSplits.All:
                return [.. Read(trainPath, "train", DatasetSplits.Train), .. Read(testPath, "test", DatasetSplits.FullTest)];
            case DatasetSplits.Test or DatasetSplits.Validation:
                {
                    var rows = Read(testPath, "test", DatasetSplits.FullTest);
                    if (rows.Count != TestRows)
                    {
                        throw new DatasetFormatException(testPath, 0, $"expected {TestRows} rows for the paper's 776/543 split, found {rows.Count}");
                    }

                    var validation = ValidationRows(rows.Count);
                    return rows
                        .Where((_, row) => validation.Contains(row) == (split == DatasetSplits.Validation))
                        .Select(item => item with { Split = split })
                        .ToList();
                }

            default:
                throw new ArgumentException($"Unknown GSM8K split '{split}'. Known: {string.Join(", ", Splits)}.", nameof(split));
        }
    }

    /// <summary>Row numbers (0-based, in test.jsonl) of the paper's 543 validation items.</summary>
    public static IReadOnlySet<int> ValidationRows(int testRows = TestRows) =>
        SeededSplit.Order(Enumerable.Range(0, testRows), row => row.ToString(CultureInfo.InvariantCulture), SplitSeed)
            .Skip(PaperTestCount)
            .ToHashSet();

    private static List<TaskItem> Read(string path, string file, string split)
    {
        var items = new List<TaskItem>();
        foreach (var record in JsonLines.Read(path))
        {
            var question = record.String("question");
            var answer = record.String("answer");
            if (!answer.Contains("####", StringComparison.Ordinal))
            {
                throw record.Error("the answer has no '#### <number>' line");
            }

            items.Add(new TaskItem($"gsm8k/{file}/{record.Line - 1}", Gsm8kTask.KindName, question, answer) { Split = split });
        }

        return items;
    }
}
