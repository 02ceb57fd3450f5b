using System.Globalization;
using Shepherd.Core.Tasks;

namespace Shepherd.Core.Datasets;

/// <summary>
/// CNK12 (the cn_k12 rows of math datasets). Two sources:
/// <list type="bullet">
/// <item>the JSON Lines sample <c>cnk12/cnk12_numinamath_cot_250.jsonl</c> (<c>{"index", "source", "problem",
/// "answer", …}</c>), every row cn_k12; id "cnk12/{index}", split key the index;</item>
/// <item>the <c>open-r1/OpenR1-Math-220k</c> parquet layout (columns problem, solution, answer, source, uuid;
/// files <c>**/*.parquet</c> under <c>openr1-math-220k/</c>), filtered to source == "cn_k12"; id
/// "cnk12/{uuid}", split key the uuid.</item>
/// </list>
/// The split follows the paper's proportions (18,251 / 1,073 / 2,147 of 21,471): rows ordered by
/// <see cref="SeededSplit"/> with seed "shepherd-cnk12-split-v1"; when more than 21,471 rows qualify, the first
/// 21,471 are the paper-sized sample; of those the first round(n·2147/21471) are test, the next
/// round(n·1073/21471) validation, the rest train.
/// </summary>
public static class Cnk12Loader
{
    public const string Name = "cnk12";
    public const string SplitSeed = "shepherd-cnk12-split-v1";
    public const string SampleFile = "cnk12/cnk12_numinamath_cot_250.jsonl";
    public const string OpenR1Folder = "openr1-math-220k";
    public const string Source = "cn_k12";
    public const int PaperSample = 21471;
    public const int PaperTest = 2147;
    public const int PaperValidation = 1073;

    public static IReadOnlyList<string> Splits { get; } = [DatasetSplits.Train, DatasetSplits.Validation, DatasetSplits.Test, DatasetSplits.All];

    /// <summary>The JSON Lines sample. The parquet layout is read by <c>Shepherd.Reports.DatasetFiles</c> (the
    /// command line's loader), which keeps Parquet out of the services; here its folder is an error, not ignored.</summary>
    public static IReadOnlyList<TaskItem> Load(string dataDirectory, string split)
    {
        if (Directory.Exists(Path.Combine(dataDirectory, OpenR1Folder)))
        {
            throw new DatasetFormatException(OpenR1Folder, 0, "the OpenR1 parquet layout is read by Shepherd.Reports.DatasetFiles, not by Shepherd.Core");
        }

        return Split(LoadJsonLines(Path.Combine(dataDirectory, SampleFile)), split);
    }

    public static IReadOnlyList<TaskItem> Split(IReadOnlyList<Row> rows, string split)
    {
        split = DatasetSplits.Normalize(split);
        if (!Splits.Contains(split))
        {
            throw new ArgumentException($"Unknown CNK12 split '{split}'. Known: {string.Join(", ", Splits)}.", nameof(split));
        }

        var ordered = SeededSplit.Order(rows, r => r.SplitKey, SplitSeed).Take(PaperSample).ToList();
        var test = (int)Math.Round(ordered.Count * (double)PaperTest / PaperSample, MidpointRounding.AwayFromZero);
        var validation = (int)Math.Round(ordered.Count * (double)PaperValidation / PaperSample, MidpointRounding.AwayFromZero);
        var splitOf = new Dictionary<Row, string>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < ordered.Count; i++)
        {
            splitOf[ordered[i]] = i < test ? DatasetSplits.Test : i < test + validation ? DatasetSplits.Validation : DatasetSplits.Train;
        }

        return rows
            .Where(splitOf.ContainsKey)
            .Where(r => split == DatasetSplits.All || splitOf[r] == split)
            .Select(r => new TaskItem(r.Id, Cnk12Task.KindName, r.Problem, r.Answer) { Split = splitOf[r] })
            .ToList();
    }

    public static IReadOnlyList<Row> LoadJsonLines(string path)
    {
        var rows = new List<Row>();
        foreach (var record in JsonLines.Read(path))
        {
            var index = record.OptionalScalar("index") ?? (record.Line - 1).ToString(CultureInfo.InvariantCulture);
            var source = record.OptionalString("source");
            if (source is not null && source != Source)
            {
                throw record.Error($"source is '{source}', expected '{Source}' in a CNK12 file");
            }

            var answer = record.String("answer");
            if (answer.Trim().Length == 0)
            {
                throw record.Error("empty answer");
            }

            rows.Add(new Row($"cnk12/{index}", index, record.String("problem"), answer));
        }

        return rows;
    }

    /// <summary>One CNK12 problem before splitting.</summary>
    public sealed record Row(string Id, string SplitKey, string Problem, string Answer);
}
