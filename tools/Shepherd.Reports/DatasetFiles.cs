using Shepherd.Core.Configuration;
using Shepherd.Core.Datasets;
using Shepherd.Core.Tasks;

namespace Shepherd.Reports;

/// <summary>
/// The command line's dataset loader: <see cref="DatasetCatalog"/> plus the formats whose readers stay out of
/// the services — CNK12 from the OpenR1-Math-220k parquet files when <c>openr1-math-220k/</c> exists.
/// </summary>
public static class DatasetFiles
{
    /// <inheritdoc cref="DatasetCatalog.Load"/>
    public static IReadOnlyList<TaskItem> Load(string name, string split, string? dataDirectory = null)
    {
        var directory = dataDirectory ?? ShepherdPaths.DataDirectory;
        var openR1 = directory is null ? null : Path.Combine(directory, Cnk12Loader.OpenR1Folder);
        if (string.Equals(name.Trim(), Cnk12Loader.Name, StringComparison.OrdinalIgnoreCase) && Directory.Exists(openR1))
        {
            var files = Directory.EnumerateFiles(openR1, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
            return Cnk12Loader.Split(Cnk12Parquet.LoadAsync(files).GetAwaiter().GetResult(), split);
        }

        return DatasetCatalog.Load(name, split, directory);
    }
}
