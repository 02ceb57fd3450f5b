using Shepherd.Core.Configuration;

namespace Shepherd.Core.Datasets;

/// <summary>
/// Loads the benchmarks by name and split from the data folder (<see cref="ShepherdPaths.DataDirectory"/>,
/// never a copy in the repo): gsm8k, cnk12, humaneval, mbpp; and a user's generic JSONL by path.
/// </summary>
public static class DatasetCatalog
{
    public static IReadOnlyList<string> Names { get; } = [Gsm8kLoader.Name, Cnk12Loader.Name, HumanEvalLoader.Name, MbppLoader.Name];

    public static IReadOnlyList<string> SplitsOf(string name) => Normalize(name) switch
    {
        Gsm8kLoader.Name => Gsm8kLoader.Splits,
        Cnk12Loader.Name => Cnk12Loader.Splits,
        HumanEvalLoader.Name => HumanEvalLoader.Splits,
        MbppLoader.Name => MbppLoader.Splits,
        _ => throw UnknownName(name),
    };

    /// <summary>The items of <paramref name="name"/>'s <paramref name="split"/>. Bad files throw
    /// <see cref="DatasetFormatException"/> with the file and line.</summary>
    /// <param name="dataDirectory">Overrides <see cref="ShepherdPaths.DataDirectory"/>.</param>
    public static IReadOnlyList<Tasks.TaskItem> Load(string name, string split, string? dataDirectory = null)
    {
        var directory = dataDirectory ?? ShepherdPaths.DataDirectory
            ?? throw new DirectoryNotFoundException(
                $"No benchmark data folder: set {ShepherdPaths.DataVariable} or place the data in ../shared/data next to the repository.");
        return Normalize(name) switch
        {
            Gsm8kLoader.Name => Gsm8kLoader.Load(directory, split),
            Cnk12Loader.Name => Cnk12Loader.Load(directory, split),
            HumanEvalLoader.Name => HumanEvalLoader.Load(directory, split),
            MbppLoader.Name => MbppLoader.Load(directory, split),
            _ => throw UnknownName(name),
        };
    }

    /// <summary>A user's generic JSONL tasks (see <see cref="GenericLoader"/>).</summary>
    public static IReadOnlyList<Tasks.TaskItem> LoadGeneric(string path, string split = DatasetSplits.All) => GenericLoader.Load(path, split);

    private static string Normalize(string name) => name.Trim().ToLowerInvariant().Replace("-", "", StringComparison.Ordinal);

    private static ArgumentException UnknownName(string name) =>
        new($"Unknown dataset '{name}'. Known: {string.Join(", ", Names)}; a generic JSONL file loads with LoadGeneric(path).", nameof(name));
}
