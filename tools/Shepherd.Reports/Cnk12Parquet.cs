using Parquet;
using Parquet.Schema;
using Shepherd.Core.Datasets;

namespace Shepherd.Reports;

/// <summary>CNK12 from the <c>open-r1/OpenR1-Math-220k</c> parquet layout (see <see cref="Cnk12Loader"/>).</summary>
public static class Cnk12Parquet
{
    /// <summary>Reads OpenR1-Math-220k parquet files and keeps the rows whose source is cn_k12; the other
    /// sources are skipped by design. A cn_k12 row without problem or answer fails with its row number.</summary>
    public static async Task<IReadOnlyList<Cnk12Loader.Row>> LoadAsync(IReadOnlyList<string> files, CancellationToken cancellationToken = default)
    {
        if (files.Count == 0)
        {
            throw new DatasetFormatException(Cnk12Loader.OpenR1Folder, 0, "no .parquet files found");
        }

        var rows = new List<Cnk12Loader.Row>();
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
                        if (sources[i] != Cnk12Loader.Source)
                        {
                            continue;
                        }

                        if (string.IsNullOrWhiteSpace(problems[i]) || string.IsNullOrWhiteSpace(answers[i]))
                        {
                            throw new DatasetFormatException(file, row, "cn_k12 row without problem or answer");
                        }

                        var key = uuids?[i] is { Length: > 0 } uuid ? uuid : $"{Path.GetFileName(file)}#{row}";
                        rows.Add(new Cnk12Loader.Row($"cnk12/{key}", key, problems[i]!, answers[i]!));
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

}
