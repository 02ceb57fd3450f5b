using Shepherd.Core.Configuration;

namespace Shepherd.Core.Tests;

internal static class DataSkip
{
    /// <summary>
    /// The data folder; skips the test when it is missing, or when it lacks <paramref name="dataset"/>'s folder (the
    /// CNK12 sample is derived and not fetched by scripts/fetch-fixtures.sh).
    /// </summary>
    public static string Directory(string? dataset = null)
    {
        Skip.If(ShepherdPaths.DataDirectory is null,
            $"No benchmark data folder: set {ShepherdPaths.DataVariable} or provide ../shared/data next to the repository (see shared/data/README.md).");
        Skip.If(dataset is not null && !System.IO.Directory.Exists(Path.Combine(ShepherdPaths.DataDirectory!, dataset)),
            $"The data folder {ShepherdPaths.DataDirectory} has no {dataset}/ (see shared/data/README.md for its source).");
        return ShepherdPaths.DataDirectory!;
    }
}
