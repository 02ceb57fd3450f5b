using Shepherd.Core.Tasks;
using Shepherd.Core.Tests.Sandbox;

namespace Shepherd.Core.Tests.Tasks;

public sealed class PromptTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>
{
    private readonly TaskRegistry _registry = new(fixture.Sandbox);

    [Fact]
    public void PromptFollowsThePaperTemplateWithAndWithoutHint()
    {
        var kind = _registry.Get("cnk12");
        var item = new TaskItem("t", "cnk12", "Find x if 2x = 4.", "2");

        var plain = kind.BuildPrompt(item);
        var hinted = kind.BuildPrompt(item, "Divide both sides by 2");

        Assert.Equal($"Instruction: {kind.Instruction}\nQuestion: Find x if 2x = 4.", plain);
        Assert.Equal(plain + "\nHint: Divide both sides by 2", hinted);
        Assert.StartsWith("give the final answer, following the task's constraints.", kind.Instruction);
        Assert.Equal(plain, kind.BuildPrompt(item, "  "));
    }

    [Fact]
    public void Gsm8kIsTwoShot()
    {
        var kind = _registry.Get("gsm8k");
        var item = new TaskItem("t", "gsm8k", "How many?", "#### 3");

        var messages = kind.BuildMessages(item, "Count them");

        Assert.Equal(["user", "assistant", "user", "assistant", "user"], messages.Select(m => m.Role));
        Assert.Contains("Natalia", messages[0].Content);
        Assert.EndsWith("#### 72", messages[1].Content);
        Assert.EndsWith("#### 10", messages[3].Content);
        Assert.Equal(kind.BuildPrompt(item, "Count them"), messages[^1].Content);
        Assert.DoesNotContain("Hint:", messages[0].Content);
    }

    [Fact]
    public void MbppPromptHasTextSignatureTestsAndTheCodeOnlyConstraint()
    {
        var item = new TaskItem("mbpp/2", "mbpp", "Write a function to find the similar elements from the given two tuple lists.",
            "def similar_elements(test_tup1, test_tup2):\r\n  res = tuple(set(test_tup1) & set(test_tup2))\r\n  return (res) ")
        {
            EntryPoint = "similar_elements",
            Tests = ["assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)"],
        };

        var prompt = _registry.Get("mbpp").BuildPrompt(item);

        Assert.Contains("Signature: def similar_elements(test_tup1, test_tup2):", prompt);
        Assert.Contains("assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)", prompt);
        Assert.Contains("Output only runnable Python code.", prompt);
    }

    [Fact]
    public void HumanEvalQuestionIsTheDatasetPrompt()
    {
        var item = new TaskItem("HumanEval/x", "humaneval", "def f(x):\n    \"\"\"Return x.\"\"\"\n", "    return x\n") { EntryPoint = "f" };

        Assert.EndsWith("Question: def f(x):\n    \"\"\"Return x.\"\"\"\n", _registry.Get("humaneval").BuildPrompt(item));
    }

    [Fact]
    public void RegistryKnowsEveryKindAndNamesTheKnownOnesOnAMiss()
    {
        Assert.Equal(TaskRegistry.Names, _registry.All.Select(k => k.Name).Order().OrderBy(n => TaskRegistry.Names.ToList().IndexOf(n)));
        var error = Assert.Throws<KeyNotFoundException>(() => _registry.Get("nope"));
        Assert.Contains("gsm8k", error.Message);
    }

    [Fact]
    public async Task GenericKindGradesWithTheItemsGrader()
    {
        var kind = _registry.Get("generic");

        var exact = await kind.GradeAsync(new TaskItem("1", "generic", "Capital of France?", "Paris") { Grader = "exact" }, "Let me think.\nAnswer: Paris.");
        var numeric = await kind.GradeAsync(new TaskItem("2", "generic", "q", "1200") { Grader = "numeric" }, "#### 1,200");
        var math = await kind.GradeAsync(new TaskItem("3", "generic", "q", "\\frac{1}{2}") { Grader = "math" }, "so \\boxed{0.5}");
        var code = await kind.GradeAsync(
            new TaskItem("4", "generic", "q", "def inc(x): return x + 1") { Grader = "python-tests", Tests = ["assert inc(1) == 2"] },
            "```python\ndef inc(x):\n    return x + 1\n```");
        var wrongCode = await kind.GradeAsync(
            new TaskItem("5", "generic", "q", "def inc(x): return x + 1") { Grader = "python-tests", Tests = ["assert inc(1) == 2"] },
            "```python\ndef inc(x):\n    return x\n```");

        Assert.True(exact.Passed, exact.Reason);
        Assert.True(numeric.Passed, numeric.Reason);
        Assert.True(math.Passed, math.Reason);
        Assert.True(code.Passed, code.Reason);
        Assert.False(wrongCode.Passed);
        Assert.StartsWith("Fail: AssertionError", wrongCode.Reason);
    }

    [Fact]
    public async Task UndecidableMathFailsClosedAndSaysSo()
    {
        var grade = await _registry.Get("cnk12").GradeAsync(new TaskItem("c", "cnk12", "q", "2 < a < 3"), "\\boxed{a \\in (2, 3)}");

        Assert.False(grade.Passed);
        Assert.True(grade.Undecidable);
    }

    [Fact]
    public void ConsensusKeysAgreeAcrossSpellings()
    {
        var gsm = _registry.Get("gsm8k");
        var math = _registry.Get("cnk12");

        Assert.Equal(gsm.Extract("The answer is $1,200.").Key, gsm.Extract("#### 1200").Key);
        Assert.Equal(math.Extract("\\boxed{\\dfrac{1}{2}}").Key, math.Extract("The final answer is 0.5").Key);
        Assert.NotEqual(math.Extract("\\boxed{\\frac{1}{2}}").Key, math.Extract("\\boxed{\\frac{1}{3}}").Key);
    }
}
