using System.IO.Compression;
using System.Text.Json;

namespace Shepherd.Core.Datasets;

/// <summary>Reads JSON Lines (plain or .gz) strictly: every line must be a JSON object; a blank line, bad JSON
/// or a missing field fails with the file name and the line number.</summary>
public static class JsonLines
{
    /// <summary>One parsed line; disposes with its document.</summary>
    public sealed class Record(string file, long line, JsonDocument document) : IDisposable
    {
        public string File { get; } = file;

        public long Line { get; } = line;

        public JsonElement Root => document.RootElement;

        public string String(string name)
        {
            if (!Root.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
            {
                throw Error($"missing string field '{name}'");
            }

            return value.GetString()!;
        }

        public string? OptionalString(string name)
        {
            if (!Root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Error($"field '{name}' is not a string");
        }

        public int Int(string name)
        {
            if (!Root.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number))
            {
                throw Error($"missing integer field '{name}'");
            }

            return number;
        }

        /// <summary>A string or number field as text (ids are either in user files).</summary>
        public string? OptionalScalar(string name)
        {
            if (!Root.TryGetProperty(name, out var value))
            {
                return null;
            }

            return value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                JsonValueKind.Null => null,
                _ => throw Error($"field '{name}' is not a string or a number"),
            };
        }

        public IReadOnlyList<string> StringList(string name, bool required = true)
        {
            if (!Root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return required ? throw Error($"missing list field '{name}'") : [];
            }

            if (value.ValueKind != JsonValueKind.Array)
            {
                throw Error($"field '{name}' is not a list");
            }

            var items = new List<string>();
            foreach (var item in value.EnumerateArray())
            {
                items.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw Error($"field '{name}' holds a non-string"));
            }

            return items;
        }

        public DatasetFormatException Error(string problem) => new(File, Line, problem);

        public void Dispose() => document.Dispose();
    }

    public static IEnumerable<Record> Read(string path)
    {
        if (!System.IO.File.Exists(path))
        {
            throw new DatasetFormatException(path, 0, "file not found");
        }

        using var stream = OpenText(path);
        long number = 0;
        while (stream.ReadLine() is { } line)
        {
            number++;
            if (line.Length > 0 && line[^1] == '\r')
            {
                line = line[..^1];
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                throw new DatasetFormatException(path, number, "blank line (records must be one JSON object per line)");
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw new DatasetFormatException(path, number, $"invalid JSON: {e.Message}", e);
            }

            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new DatasetFormatException(path, number, "not a JSON object");
            }

            using var record = new Record(path, number, document);
            yield return record;
        }
    }

    private static StreamReader OpenText(string path)
    {
        Stream stream = System.IO.File.OpenRead(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            stream = new GZipStream(stream, CompressionMode.Decompress);
        }

        return new StreamReader(stream, System.Text.Encoding.UTF8);
    }
}
