using Shepherd.Core.Grading.Code;

namespace Shepherd.Core.Tests.Grading;

public sealed class CodeAnswerTests
{
    [Fact]
    public void TakesTheFencedBlockThatDefinesTheEntryPoint()
    {
        const string Output = "Here you go:\n```python\nimport math\n```\nand\n```python\ndef area(r):\n    return math.pi * r * r\n```\nUsage:\n```python\nprint(area(2))\n```";

        Assert.Equal("def area(r):\n    return math.pi * r * r\n", CodeAnswer.ExtractProgram(Output, "area"));
    }

    [Fact]
    public void AcceptsAnUnterminatedFence()
    {
        Assert.Equal("def f():\n    return 1\n", CodeAnswer.ExtractProgram("```py\ndef f():\n    return 1\n"));
    }

    [Fact]
    public void StripsProseAroundUnfencedCode()
    {
        const string Output = "Sure! The function is:\nR = 3\ndef f(x):\n    return x + R\n\nThis adds R to x.";

        Assert.Equal("R = 3\ndef f(x):\n    return x + R\n", CodeAnswer.ExtractProgram(Output));
    }

    [Fact]
    public void KeepsAnIndentedBodyCompletion()
    {
        Assert.Equal("    return a + b\n", CodeAnswer.ExtractProgram("    return a + b\n"));
    }

    [Fact]
    public void ProseOnlyHasNoProgram()
    {
        Assert.Null(CodeAnswer.ExtractProgram("I think the answer is to loop over the list."));
    }

    [Fact]
    public void KeyIgnoresWhitespaceCommentsAndLineEndings()
    {
        const string A = "def f(x):\n    # add one\n    return x+1\n";
        const string B = "def f( x ):\r\n\r\n  return x + 1   # done\r\n";

        Assert.Equal(CodeAnswer.Key(A), CodeAnswer.Key(B));
    }

    [Fact]
    public void KeyKeepsStringsAndBlockStructure()
    {
        Assert.NotEqual(CodeAnswer.Key("s = 'a b'\n"), CodeAnswer.Key("s = 'ab'\n"));
        Assert.NotEqual(CodeAnswer.Key("x = '#'\n"), CodeAnswer.Key("x = ''\n"));
        Assert.NotEqual(
            CodeAnswer.Key("for i in r:\n    a()\n    b()\n"),
            CodeAnswer.Key("for i in r:\n    a()\nb()\n"));
    }
}
