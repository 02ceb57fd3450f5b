using Shepherd.Core.Datasets;
using Shepherd.Core.Grading;
using Shepherd.Core.Sandbox;
using Shepherd.Core.Tasks;
using Shepherd.Core.Tests.Sandbox;
using Xunit.Abstractions;

namespace Shepherd.Core.Tests.Benchmarks;

public sealed class HumanEvalExecutionTests(SandboxFixture fixture, ITestOutputHelper output) : IClassFixture<SandboxFixture>
{
    [SkippableFact]
    public async Task EveryCanonicalSolutionPasses()
    {
        var items = DatasetCatalog.Load("humaneval", "test", DataSkip.Directory("humaneval"));
        var task = new HumanEvalTask(fixture.Sandbox);

        var grades = await Task.WhenAll(items.Select(item => task.GradeAsync(item, item.Reference)));

        var failures = items.Zip(grades).Where(p => !p.Second.Passed).Select(p => $"{p.First.Id}: {p.Second.Reason}").ToList();
        failures.ForEach(output.WriteLine);
        Assert.Equal(164, items.Count);
        Assert.Empty(failures);
    }

    [SkippableFact]
    public async Task EveryCanonicalSolutionFailsWithItsBodyReplacedByReturnNone()
    {
        var items = DatasetCatalog.Load("humaneval", "test", DataSkip.Directory("humaneval"));

        var runs = await Task.WhenAll(items.Select(item => fixture.Sandbox.RunAsync(ProgramBuilder.HumanEval(item, "    return None\n"))));

        var passing = items.Zip(runs).Where(p => p.Second.Verdict == SandboxVerdict.Pass).Select(p => p.First.Id).ToList();
        Assert.Empty(passing);
        Assert.DoesNotContain(runs, r => r.Verdict == SandboxVerdict.SandboxError);
    }

    [SkippableFact]
    public async Task FencedFullFunctionFromAModelIsGradedLikeTheCanonicalSolution()
    {
        var item = DatasetCatalog.Load("humaneval", "test", DataSkip.Directory("humaneval"))[0];
        var task = new HumanEvalTask(fixture.Sandbox);
        var modelOutput = "Here is the implementation:\n\n```python\n" + item.Query + item.Reference + "```\n\nIt compares every pair.";

        var grade = await task.GradeAsync(item, modelOutput);

        Assert.True(grade.Passed, grade.Reason);
        Assert.Equal(SandboxVerdict.Pass, grade.Execution!.Verdict);
    }
}
