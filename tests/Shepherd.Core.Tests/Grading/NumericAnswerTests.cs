using Shepherd.Core.Datasets;
using Shepherd.Core.Grading;

namespace Shepherd.Core.Tests.Grading;

public sealed class NumericAnswerTests
{
    [SkippableTheory]
    [InlineData("train")]
    [InlineData("test-full")]
    public void EveryGsm8kReferenceExtractsToANumber(string split)
    {
        var items = DatasetCatalog.Load("gsm8k", split, DataSkip.Directory("gsm8k"));

        var missing = items.Where(i => !NumericAnswer.FromReference(i.Reference).Found).Select(i => i.Id).ToList();

        Assert.Empty(missing);
        Assert.All(items, i => Assert.Matches(@"^-?\d+(\.\d+)?$", NumericAnswer.FromReference(i.Reference).Key));
    }

    [Fact]
    public void ReferenceWithThousandsSeparatorIsCanonicalised()
    {
        Assert.Equal("109200000", NumericAnswer.FromReference("...\n#### 109,200,000").Key);
    }

    [Theory]
    [InlineData("She sold 48/2 = 24 clips in May.\nIn total 48+24 = 72 clips.\n#### 72", "72")]
    [InlineData("Step 1: 12/60 = 0.2 per minute. Step 2: 0.2 * 50 = 10.\nThe answer is $10.", "10")]
    [InlineData("The final answer is 1,250 dollars.", "1250")]
    [InlineData("So she earned $18.00.", "18")]
    [InlineData("The answer is: 45%", "45")]
    [InlineData("Therefore, the answer is \\boxed{36}.", "36")]
    [InlineData("Answer: -3", "-3")]
    [InlineData("The answer is 12 apples. Check: 12 + 3 = 15 fruits in all.", "12")]
    [InlineData("He runs 3 sprints 3 times a week, 60 meters each: 3*3*60 = 540 meters a week", "540")]
    [InlineData("Total = 0.5 hours", "0.5")]
    [InlineData("It costs 2.50 + 1.50 = 4 dollars.", "4")]
    [InlineData("#### 5\n\nQuestion: Tom has 7 cats and 2 dogs. How many pets?\nAnswer: 9", "5")]
    [InlineData("The answer is 7.", "7")]
    public void ExtractsTheFinalNumberFromTypicalOutputs(string output, string expected)
    {
        Assert.Equal(expected, NumericAnswer.FromOutput(output).Key);
    }

    [Theory]
    [InlineData("The answer is 1/2.", "0.5")]
    [InlineData("Each gets 3/4 of a pizza", "0.75")]
    [InlineData("The answer is 3 1/2.", "3.5")]
    [InlineData("She walked 2 3/4 miles in all.", "2.75")]
    [InlineData("The answer is \\frac{1}{2}.", "0.5")]
    [InlineData("Therefore, the answer is \\boxed{\\dfrac{3}{4}}.", "0.75")]
    [InlineData("So the total is 3\\frac{1}{2} cups.", "3.5")]
    [InlineData("#### -\\tfrac{1}{4}", "-0.25")]
    [InlineData("Answer: -1 1/2", "-1.5")]
    [InlineData("On step 2 10/5 = 2 and 2 + 7 = 9", "9")]
    [InlineData("Step 2 10/5", "2")]
    [InlineData("She sold 48/2 = 24 clips.", "24")]
    public void ReadsAFinalFractionOrMixedNumberAsItsValue(string output, string expected)
    {
        Assert.Equal(expected, NumericAnswer.FromOutput(output).Key);
    }

    [Fact]
    public void AFractionAnswerPassesAgainstItsDecimalReference()
    {
        var grade = AnswerGrading.Numeric(NumericAnswer.FromReference("Half of it.\n#### 0.5"), NumericAnswer.FromOutput("The answer is 1/2."));

        Assert.True(grade.Passed, grade.Reason);
    }

    [Fact]
    public void OutputWithoutANumberHasNoAnswer()
    {
        Assert.False(NumericAnswer.FromOutput("I cannot solve this problem.").Found);
    }

    [Theory]
    [InlineData("72", "72.0", true)]
    [InlineData("1,000", "1000", true)]
    [InlineData("$5", "5", true)]
    [InlineData("0.5", "1/2", true)]
    [InlineData("3.5", "3 1/2", true)]
    [InlineData("72", "73", false)]
    public void ComparesNumbersNotStrings(string a, string b, bool equal)
    {
        Assert.Equal(equal, NumericAnswer.AreEqual(a, b));
    }
}
