namespace Shepherd.Core.Configuration;

/// <summary>
/// Finds the read-only fixtures (benchmark data and GGUF models) without copying them into the repo.
/// Order: the SHEPHERD_DATA / SHEPHERD_MODELS environment variables; then, walking up from the working
/// directory and from the app's base directory to the folder holding Shepherd.sln, its sibling
/// <c>../shared/{data,models}</c>; then the git-ignored <c>.shepherd/{data,models}</c> that
/// <c>scripts/fetch-fixtures.sh</c> fills on a machine without ../shared.
/// </summary>
public static class ShepherdPaths
{
    public const string DataVariable = "SHEPHERD_DATA";
    public const string ModelsVariable = "SHEPHERD_MODELS";

    /// <summary>The benchmark data folder, or null when none is found.</summary>
    public static string? DataDirectory => Resolve(DataVariable, "data");

    /// <summary>The models folder, or null when none is found.</summary>
    public static string? ModelsDirectory => Resolve(ModelsVariable, "models");

    /// <summary>The repository root (the folder with Shepherd.sln), or null.</summary>
    public static string? RepositoryRoot => FindRepositoryRoot();

    /// <summary>A file under the data folder, or null when the folder or the file is missing.</summary>
    public static string? DataFile(string relativePath) => ExistingFile(DataDirectory, relativePath);

    /// <summary>A file under the models folder, or null when the folder or the file is missing.</summary>
    public static string? ModelFile(string relativePath) => ExistingFile(ModelsDirectory, relativePath);

    /// <summary>The fixture GGUF model (stories260K), or null.</summary>
    public static string? FixtureModel => ModelFile("stories260K.gguf");

    private static string? ExistingFile(string? directory, string relativePath)
    {
        if (directory is null)
        {
            return null;
        }

        var path = Path.Combine(directory, relativePath);
        return File.Exists(path) ? path : null;
    }

    private static string? Resolve(string variable, string leaf)
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Directory.Exists(fromEnvironment) ? Path.GetFullPath(fromEnvironment) : null;
        }

        var root = FindRepositoryRoot();
        if (root is null)
        {
            return null;
        }

        foreach (var candidate in new[]
                 {
                     Path.Combine(root, "..", "shared", leaf),
                     Path.Combine(root, ".shepherd", leaf),
                 })
        {
            if (Directory.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return null;
    }

    private static string? FindRepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Shepherd.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        return null;
    }
}
