using Shepherd.Core.Configuration;

namespace Shepherd.Core.Tests;

internal static class DataSkip
{
    /// <summary>The data folder; skips the test when it is missing.</summary>
    public static string Directory()
    {
        Skip.If(ShepherdPaths.DataDirectory is null,
            $"No benchmark data folder: set {ShepherdPaths.DataVariable} or provide ../shared/data next to the repository (see shared/data/README.md).");
        return ShepherdPaths.DataDirectory!;
    }
}
