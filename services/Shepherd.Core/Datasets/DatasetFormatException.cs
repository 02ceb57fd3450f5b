namespace Shepherd.Core.Datasets;

/// <summary>A data file that cannot be read as the dataset it claims to be. The message starts with
/// "file:line:" (for parquet, the row number instead of the line) so the user can find the bad record.</summary>
public sealed class DatasetFormatException : Exception
{
    public DatasetFormatException(string file, long line, string problem, Exception? inner = null)
        : base($"{file}:{line}: {problem}", inner)
    {
        File = file;
        Line = line;
        Problem = problem;
    }

    public string File { get; }

    /// <summary>1-based line of a JSON Lines file, or 1-based row of a parquet file; 0 for the whole file.</summary>
    public long Line { get; }

    public string Problem { get; }
}
