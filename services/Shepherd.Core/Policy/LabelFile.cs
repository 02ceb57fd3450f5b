using System.Text;
using System.Text.Json;

namespace Shepherd.Core.Policy;

/// <summary>A malformed label file: names the file and the 1-based line.</summary>
public sealed class LabelFormatException(string source, int line, string reason, Exception? inner = null)
    : FormatException($"{source}:{line}: {reason}", inner)
{
    public string FileName { get; } = source;

    public int Line { get; } = line;
}

/// <summary>Reads and writes the JSONL label file (one <see cref="LabelRecord"/> per line; docs/labels.md).</summary>
public static class LabelFile
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = false,
        AllowTrailingCommas = false,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
    };

    /// <summary>Reads every record of a file. Blank lines are skipped; ids must be unique.</summary>
    public static IReadOnlyList<LabelRecord> ReadAll(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        return Read(reader, path);
    }

    /// <summary>Reads every record; <paramref name="source"/> names the input in errors.</summary>
    public static IReadOnlyList<LabelRecord> Read(TextReader reader, string source)
    {
        var records = new List<LabelRecord>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var record = Parse(line, source, lineNumber);
            if (!ids.Add(record.Id))
            {
                throw new LabelFormatException(source, lineNumber, $"duplicate id '{record.Id}'");
            }

            records.Add(record);
        }

        return records;
    }

    /// <summary>Parses one line.</summary>
    public static LabelRecord Parse(string line, string source, int lineNumber)
    {
        LabelRecord? record;
        try
        {
            record = JsonSerializer.Deserialize<LabelRecord>(line, Options);
        }
        catch (JsonException ex)
        {
            throw new LabelFormatException(source, lineNumber, ex.Message, ex);
        }

        if (record is null)
        {
            throw new LabelFormatException(source, lineNumber, "the line is 'null', expected a label object");
        }

        if (record.Validate() is { } reason)
        {
            throw new LabelFormatException(source, lineNumber, reason);
        }

        return record;
    }

    /// <summary>One record as a single JSON line (no newline).</summary>
    public static string Format(LabelRecord record)
    {
        if (record.Validate() is { } reason)
        {
            throw new ArgumentException($"Label '{record.Id}': {reason}.", nameof(record));
        }

        return JsonSerializer.Serialize(record, Options);
    }

    /// <summary>Writes the records, one per line, '\n' line ends, UTF-8 without BOM.</summary>
    public static void Write(TextWriter writer, IEnumerable<LabelRecord> records)
    {
        foreach (var record in records)
        {
            writer.Write(Format(record));
            writer.Write('\n');
        }
    }

    /// <summary>Writes the records to a file (replacing it).</summary>
    public static void WriteAll(string path, IEnumerable<LabelRecord> records)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        Write(writer, records);
    }
}
