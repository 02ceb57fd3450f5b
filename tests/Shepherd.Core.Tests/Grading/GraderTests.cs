using Shepherd.Core.Grading;
using Shepherd.Core.Tasks;
using Shepherd.Core.Tests.Sandbox;

namespace Shepherd.Core.Tests.Grading;

public sealed class GraderTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>
{
    private readonly Grader _grader = new(new TaskRegistry(fixture.Sandbox));

    [Fact]
    public async Task ExplainShowsBothAnswersKeysAndVerdict()
    {
        var report = await _grader.ExplainAsync("gsm8k", "He has 3 + 4 = 7.\n#### 7", "So the total is 7 apples.");

        Assert.True(report.Passed);
        Assert.Equal("7", report.Reference.Key);
        Assert.Equal("7", report.Output.Key);
        var text = report.ToText();
        Assert.Contains("reference key:    7", text);
        Assert.Contains("verdict:          pass", text);
    }

    [SkippableFact]
    public async Task ExplainLooksUpCodeTasksById()
    {
        var grader = new Grader(new TaskRegistry(fixture.Sandbox), DataSkip.Directory());

        var report = await grader.ExplainAsync("humaneval", "HumanEval/2", "```python\ndef truncate_number(number: float) -> float:\n    return number % 1.0\n```");

        Assert.True(report.Passed, report.Reason);
        Assert.Contains("\"sandbox_verdict\":\"Pass\"", report.ToJson());
    }

    [Fact]
    public async Task BatchWritesOneReportPerLineInOrderAndCounts()
    {
        var input = new StringReader(string.Join("\n",
            """{"task": "gsm8k", "reference": "#### 12", "output": "The answer is 12."}""",
            """{"task": "cnk12", "reference": "\\frac{1}{2}", "output": "\\boxed{0.6}"}""",
            """{"kind": "cnk12", "reference": "2 < a < 3", "output": "\\boxed{a \\in (2,3)}"}""",
            """{"task": "generic", "grader": "python-tests", "reference": "assert f() == 1", "output": "def f():\n    return 1"}"""));
        var output = new StringWriter();

        var summary = await _grader.GradeBatchAsync(input, output);

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Contains("\"line\":1", lines[0]);
        Assert.Contains("\"verdict\":\"pass\"", lines[0]);
        Assert.Contains("\"verdict\":\"fail\"", lines[1]);
        Assert.Contains("\"verdict\":\"undecidable\"", lines[2]);
        Assert.Contains("\"verdict\":\"pass\"", lines[3]);
        Assert.Equal(new GradeBatchSummary(4, 2, 1, 1), summary);
    }

    [Fact]
    public async Task BatchLineWithoutOutputFailsWithItsLineNumber()
    {
        var input = new StringReader("{\"task\": \"gsm8k\", \"reference\": \"1\", \"output\": \"1\"}\n{\"task\": \"gsm8k\", \"reference\": \"1\"}\n");

        var error = await Assert.ThrowsAsync<Shepherd.Core.Datasets.DatasetFormatException>(() => _grader.GradeBatchAsync(input, TextWriter.Null, "mine.jsonl"));

        Assert.Equal("mine.jsonl:2: missing 'output'", error.Message);
    }
}
