using System.Globalization;
using Parquet;
using Parquet.Schema;
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

    /// <summary>The parquet files when <c>openr1-math-220k/</c> exists, else the JSON Lines sample.</summary>
    public static IReadOnlyList<TaskItem> Load(string dataDirectory, string split)
    {
        var folder = Path.Combine(dataDirectory, OpenR1Folder);
        var rows = Directory.Exists(folder)
            ? LoadParquetAsync(Directory.EnumerateFiles(folder, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList())
                .GetAwaiter().GetResult()
            : LoadJsonLines(Path.Combine(dataDirectory, SampleFile));
        return Split(rows, split);
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

    /// <summary>Reads OpenR1-Math-220k parquet files and keeps the rows whose source is cn_k12; the other
    /// sources are skipped by design. A cn_k12 row without problem or answer fails with its row number.</summary>
    public static async Task<IReadOnlyList<Row>> LoadParquetAsync(IReadOnlyList<string> files, CancellationToken cancellationToken = default)
    {
        if (files.Count == 0)
        {
            throw new DatasetFormatException(OpenR1Folder, 0, "no .parquet files found");
        }

        var rows = new List<Row>();
        foreach (var file in files)
        {
            ParquetReader reader;
            try
            {
                reader = await ParquetReader.CreateAsync(file, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or InvalidOperationException or ArgumentException)
            {
                throw new DatasetFormatException(file, 0, $"not a readable parquet file: {e.Message}", e);
            }

            await using (reader.ConfigureAwait(false))
            {
                var fields = reader.Schema.GetDataFields();
                var problemField = Field(fields, "problem", file);
                var answerField = Field(fields, "answer", file);
                var sourceField = Field(fields, "source", file);
                var uuidField = fields.FirstOrDefault(f => f.Name == "uuid");
                long rowBase = 0;
                for (var group = 0; group < reader.RowGroupCount; group++)
                {
                    using var rowGroup = reader.OpenRowGroupReader(group);
                    var count = checked((int)rowGroup.RowCount);
                    var problems = await ReadStrings(rowGroup, problemField, count, cancellationToken).ConfigureAwait(false);
                    var answers = await ReadStrings(rowGroup, answerField, count, cancellationToken).ConfigureAwait(false);
                    var sources = await ReadStrings(rowGroup, sourceField, count, cancellationToken).ConfigureAwait(false);
                    var uuids = uuidField is null ? null : await ReadStrings(rowGroup, uuidField, count, cancellationToken).ConfigureAwait(false);
                    for (var i = 0; i < count; i++)
                    {
                        var row = rowBase + i + 1;
                        if (sources[i] != Source)
                        {
                            continue;
                        }

                        if (string.IsNullOrWhiteSpace(problems[i]) || string.IsNullOrWhiteSpace(answers[i]))
                        {
                            throw new DatasetFormatException(file, row, "cn_k12 row without problem or answer");
                        }

                        var key = uuids?[i] is { Length: > 0 } uuid ? uuid : $"{Path.GetFileName(file)}#{row}";
                        rows.Add(new Row($"cnk12/{key}", key, problems[i]!, answers[i]!));
                    }

                    rowBase += count;
                }
            }
        }

        return rows;
    }

    private static DataField Field(DataField[] fields, string name, string file) =>
        fields.FirstOrDefault(f => f.Name == name)
        ?? throw new DatasetFormatException(file, 0, $"no '{name}' column (columns: {string.Join(", ", fields.Select(f => f.Name))})");

    private static async Task<string?[]> ReadStrings(ParquetRowGroupReader rowGroup, DataField field, int count, CancellationToken cancellationToken)
    {
        var values = new string?[count];
        await rowGroup.ReadAsync(field, values.AsMemory()!, null, cancellationToken).ConfigureAwait(false);
        return values;
    }

    /// <summary>One CNK12 problem before splitting.</summary>
    public sealed record Row(string Id, string SplitKey, string Problem, string Answer);
}
