using Shepherd.Core.Policy;

namespace Shepherd.Policy.Tests;

public sealed class LabelFileTests
{
    private const string Valid =
        """{"id":"q1","query":"What is 2+2?","task":"gsm8k","n_star":12,"llm_answer_tokens":120,"levels":[{"percent":0,"n_p":0,"passed":false},{"percent":10,"n_p":12,"passed":true,"pass_rate":0.71}],"features":{"mean_entropy":0.4,"mean_output_length":88,"query_length":6},"split":"train"}""";

    [Fact]
    public void ReadsTheDocumentedFormat()
    {
        var records = LabelFile.Read(new StringReader(Valid + "\n\n"), "labels.jsonl");

        var record = Assert.Single(records);
        Assert.Equal("q1", record.Id);
        Assert.Equal(12, record.NStar);
        Assert.True(record.NeedsHint);
        Assert.Equal(120, record.LlmAnswerTokens);
        Assert.Equal(12, record.Levels[1].HintTokens);
        Assert.Equal(0.71, record.Levels[1].PassRate);
        Assert.Equal(0.4, record.Features[PolicyFeatureNames.MeanEntropy]);
        Assert.Equal(LabelSplit.Train, record.Split);
    }

    [Fact]
    public void NoHintSufficedMeansTheFullAnswerIsTheSizeTarget()
    {
        var record = LabelFile.Parse(Valid.Replace("\"n_star\":12", "\"n_star\":-1"), "x", 1);

        Assert.True(record.NeedsHint);
        Assert.Equal(120, record.EffectiveNStar);
    }

    [Fact]
    public void WriteThenReadGivesTheSameRecords()
    {
        var records = Model.Training.SyntheticLabels.Generate(25, seed: 3, PolicyMode.Reactive);
        var writer = new StringWriter();

        LabelFile.Write(writer, records);
        var read = LabelFile.Read(new StringReader(writer.ToString()), "mem");

        Assert.Equal(records.Select(LabelFile.Format), read.Select(LabelFile.Format));
    }

    [Theory]
    [InlineData("{\"id\":\"q\"}", "missing required")]
    [InlineData("not json", "")]
    [InlineData("null", "null")]
    public void MalformedLinesNameTheFileAndLine(string bad, string expected)
    {
        var ex = Assert.Throws<LabelFormatException>(() => LabelFile.Read(new StringReader(Valid + "\n" + bad + "\n"), "labels.jsonl"));

        Assert.Equal(2, ex.Line);
        Assert.StartsWith("labels.jsonl:2: ", ex.Message);
        Assert.Contains(expected, ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("\"n_star\":12", "\"n_star\":-2", "n_star")]
    [InlineData("\"n_star\":12", "\"n_star\":500", "exceeds")]
    [InlineData("\"split\":\"train\"", "\"split\":\"holdout\"", "")]
    public void InconsistentRecordsAreRejected(string from, string to, string expected)
    {
        var ex = Assert.Throws<LabelFormatException>(() => LabelFile.Parse(Valid.Replace(from, to), "labels.jsonl", 7));

        Assert.Equal(7, ex.Line);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateIdsAreRejected()
    {
        var ex = Assert.Throws<LabelFormatException>(() => LabelFile.Read(new StringReader(Valid + "\n" + Valid), "labels.jsonl"));

        Assert.Equal(2, ex.Line);
        Assert.Contains("duplicate id 'q1'", ex.Message, StringComparison.Ordinal);
    }
}
