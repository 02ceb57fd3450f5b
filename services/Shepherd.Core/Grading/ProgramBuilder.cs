using Shepherd.Core.Grading.Code;
using Shepherd.Core.Tasks;

namespace Shepherd.Core.Grading;

/// <summary>Assembles the program the sandbox runs for a code task: candidate code plus the task's tests.</summary>
public static class ProgramBuilder
{
    /// <summary>HumanEval: prompt + completion, then the test module and <c>check(entry_point)</c>.
    /// A completion that defines the entry point itself follows the prompt whole (the prompt's imports and
    /// helpers stay; the new definition replaces the stub). A bare body is indented under the prompt's signature
    /// when it is not indented already.</summary>
    public static string HumanEval(TaskItem item, string code)
    {
        var entryPoint = item.EntryPoint ?? throw new ArgumentException($"{item.Id} has no entry point", nameof(item));
        var completion = code.Replace("\r\n", "\n", StringComparison.Ordinal);
        string program;
        if (CodeAnswer.DefinesFunction(completion, entryPoint))
        {
            program = item.Query.TrimEnd() + "\n    pass\n\n" + completion;
        }
        else
        {
            var firstLine = completion.Split('\n').FirstOrDefault(l => l.Trim().Length > 0) ?? "";
            if (firstLine.Length > 0 && !char.IsWhiteSpace(firstLine[0]))
            {
                completion = string.Join("\n", completion.Split('\n').Select(l => l.Length == 0 ? l : "    " + l));
            }

            program = item.Query + completion;
        }

        return $"{program.TrimEnd()}\n\n\n{item.TestCode}\n\ncheck({entryPoint})\n";
    }

    /// <summary>MBPP: code, then test_setup_code, then every assert of test_list.</summary>
    /// <remarks>The setup goes after the code, not before: the only two MBPP tasks with setup code (367, 927)
    /// build trees with the <c>Node</c> class that the code defines, so setup-first raises NameError for every
    /// candidate. MBPP documents the field as what the tests need, which code-first still provides.</remarks>
    public static string Mbpp(TaskItem item, string code) => WithAsserts(item, code);

    /// <summary>Generic python-tests: code + setup + the asserts, then <c>check(entry_point)</c> when the item
    /// carries a HumanEval-style test module.</summary>
    public static string Tests(TaskItem item, string code)
    {
        var program = WithAsserts(item, code);
        if (item.TestCode is not null)
        {
            program += "\n" + item.TestCode + "\n";
            if (item.EntryPoint is not null)
            {
                program += $"\ncheck({item.EntryPoint})\n";
            }
        }

        return program;
    }

    private static string WithAsserts(TaskItem item, string code)
    {
        var setup = item.TestSetup.Replace("\r\n", "\n", StringComparison.Ordinal);
        var body = code.Replace("\r\n", "\n", StringComparison.Ordinal);
        return $"{body.TrimEnd()}\n\n{setup}\n{string.Join("\n", item.Tests.Select(t => t.Replace("\r\n", "\n", StringComparison.Ordinal)))}\n";
    }
}
