namespace Shepherd.Core.Tasks;

/// <summary>One benchmark or user task.</summary>
/// <param name="Id">Stable id, e.g. "gsm8k/test/12", "HumanEval/0", "mbpp/11", "cnk12/3".</param>
/// <param name="Kind">Task kind name (see <see cref="TaskRegistry"/>).</param>
/// <param name="Query">The question; for HumanEval the dataset prompt (signature and docstring); for MBPP the text.</param>
/// <param name="Reference">The reference answer: a GSM8K solution ending in "#### n", a LaTeX answer, or reference code.</param>
public sealed record TaskItem(string Id, string Kind, string Query, string Reference)
{
    /// <summary>Code tasks: the function under test.</summary>
    public string? EntryPoint { get; init; }

    /// <summary>Code tasks: assert statements run after the program (MBPP test_list, generic python-tests).</summary>
    public IReadOnlyList<string> Tests { get; init; } = [];

    /// <summary>HumanEval: the test module defining <c>check(candidate)</c>.</summary>
    public string? TestCode { get; init; }

    /// <summary>MBPP: test_setup_code run before the program.</summary>
    public string TestSetup { get; init; } = "";

    /// <summary>Generic tasks: exact, numeric, math or python-tests.</summary>
    public string? Grader { get; init; }

    /// <summary>The split this item was loaded from (train, validation, test, prompt), when known.</summary>
    public string? Split { get; init; }
}
