using Shepherd.Core.Datasets;
using Shepherd.Core.Grading;
using Shepherd.Core.Sandbox;
using Shepherd.Core.Tasks;
using Shepherd.Core.Tests.Sandbox;
using Xunit.Abstractions;

namespace Shepherd.Core.Tests.Benchmarks;

public sealed class MbppExecutionTests(SandboxFixture fixture, ITestOutputHelper output) : IClassFixture<SandboxFixture>
{
    /// <summary>Reference codes of mbpp.jsonl that fail their own test_list here, with the reason. Empty: all 974
    /// pass. (With test_setup_code placed before the code, 367 and 927 failed with NameError 'Node'; see
    /// ProgramBuilder.Mbpp for why setup now follows the code.)</summary>
    public static readonly IReadOnlyDictionary<int, string> KnownFailures = new Dictionary<int, string>();

    [SkippableFact]
    public async Task EveryReferenceCodeRunsAndAllButTheKnownFailuresPass()
    {
        var items = DatasetCatalog.Load("mbpp", "all", DataSkip.Directory("mbpp"));
        var task = new MbppTask(fixture.Sandbox);

        var grades = await Task.WhenAll(items.Select(item => task.GradeAsync(item, item.Reference)));

        var failing = items.Zip(grades).Where(p => !p.Second.Passed).ToList();
        foreach (var (item, grade) in failing)
        {
            output.WriteLine($"{item.Id}: {grade.Reason}");
        }

        Assert.Equal(974, items.Count);
        Assert.DoesNotContain(grades, g => g.Execution?.Verdict == SandboxVerdict.SandboxError);
        Assert.Equal(KnownFailures.Keys.Order(), failing.Select(p => int.Parse(p.Item1.Id["mbpp/".Length..])).Order());
        Assert.Equal(974 - KnownFailures.Count, grades.Count(g => g.Passed));
    }

    [SkippableFact]
    public async Task MutatedReferencesFail()
    {
        var items = DatasetCatalog.Load("mbpp", "all", DataSkip.Directory("mbpp"))
            .Where(i => !KnownFailures.ContainsKey(int.Parse(i.Id["mbpp/".Length..])))
            .ToList();

        // Mutations can make recursions run away: a tighter limit keeps the test short.
        using var sandbox = new PythonSandbox(new SandboxOptions { MaxParallelism = 2, WallTimeout = TimeSpan.FromSeconds(3), CpuSeconds = 2 });
        var runs = await Task.WhenAll(items.Select(item => sandbox.RunAsync(ProgramBuilder.Mbpp(item, Mutate(item)))));

        var survivors = items.Zip(runs).Where(p => p.Second.Verdict == SandboxVerdict.Pass).Select(p => p.First.Id).ToList();
        survivors.ForEach(output.WriteLine);
        Assert.Empty(survivors);
    }

    /// <summary>Wraps the entry point so every result it returns is changed (numbers +1, booleans negated,
    /// sequences extended, None → 0).</summary>
    internal static string Mutate(TaskItem item)
    {
        var name = item.EntryPoint!;
        return item.Reference + $$"""


            def _shepherd_mutate(value):
                if isinstance(value, bool):
                    return not value
                if isinstance(value, (int, float, complex)):
                    return value + 1
                if isinstance(value, str):
                    return value + "?"
                if isinstance(value, (list, tuple)):
                    return value + type(value)([object()])
                if isinstance(value, (set, frozenset)):
                    return value | {object()}
                if isinstance(value, dict):
                    return {**value, object(): object()}
                if value is None:
                    return 0
                return object()

            _shepherd_original = {{name}}

            def {{name}}(*args, **kwargs):
                return _shepherd_mutate(_shepherd_original(*args, **kwargs))
            """;
    }
}
