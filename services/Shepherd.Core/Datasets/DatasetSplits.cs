namespace Shepherd.Core.Datasets;

/// <summary>Split names used by the loaders.</summary>
public static class DatasetSplits
{
    public const string Train = "train";
    public const string Validation = "validation";
    public const string Test = "test";

    /// <summary>MBPP task ids 1–10, kept for few-shot prompts.</summary>
    public const string Prompt = "prompt";

    /// <summary>Every row of the source, whatever its split.</summary>
    public const string All = "all";

    /// <summary>GSM8K's original 1,319-row test file before the paper's test/validation split.</summary>
    public const string FullTest = "test-full";

    public static string Normalize(string split)
    {
        var name = split.Trim().ToLowerInvariant();
        return name switch
        {
            "val" or "valid" or "dev" => Validation,
            _ => name,
        };
    }
}
