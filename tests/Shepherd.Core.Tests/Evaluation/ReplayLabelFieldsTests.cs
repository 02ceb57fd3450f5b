using Shepherd.Core.Policy;

namespace Shepherd.Core.Tests.Evaluation;

public sealed class ReplayLabelFieldsTests
{
    private const string Old =
        """{"id":"q1","query":"What is two and two?","task":"gsm8k","n_star":12,"llm_answer_tokens":120,"levels":[{"percent":0,"n_p":0,"passed":false,"pass_rate":null},{"percent":10,"n_p":12,"passed":true,"pass_rate":0.71}],"features":{"query_length":6},"split":"train"}""";

    [Fact]
    public void OldFilesReadAndWriteWithoutTheReplayFields()
    {
        var record = LabelFile.Parse(Old, "old.jsonl", 1);

        Assert.Null(record.LlmPassed);
        Assert.Null(record.Samples);
        Assert.Equal(Old, LabelFile.Format(record));
    }

    [Fact]
    public void ReplayFieldsRoundTripInSnakeCase()
    {
        var line = Old.Replace(",\"split\"", ",\"llm_passed\":true,\"llm_prompt_tokens\":88,\"slm_prompt_tokens\":90,\"slm_answer_tokens\":140.5,\"trials\":7,\"samples\":3,\"agree_max\":2,\"consensus_passed\":false,\"split\"", StringComparison.Ordinal)
            .Replace("\"pass_rate\":0.71}", "\"pass_rate\":0.71,\"slm_answer_tokens\":120}", StringComparison.Ordinal);

        var record = LabelFile.Parse(line, "new.jsonl", 1);

        Assert.Equal((true, 88, 90, 140.5, 7, 3, 2, false), (record.LlmPassed, record.LlmPromptTokens, record.SlmPromptTokens, record.SlmAnswerTokens, record.Trials, record.Samples, record.AgreeMax, record.ConsensusPassed));
        Assert.Equal(120, record.Levels[1].SlmAnswerTokens);
        Assert.Equal(record, LabelFile.Parse(LabelFile.Format(record), "again", 1), new FormatComparer());
    }

    [Theory]
    [InlineData(",\"samples\":3,\"agree_max\":4", "agree_max")]
    [InlineData(",\"llm_prompt_tokens\":-1", "replay fields")]
    [InlineData(",\"trials\":0", "replay fields")]
    public void InconsistentReplayFieldsAreRejected(string fields, string expected)
    {
        var ex = Assert.Throws<LabelFormatException>(() => LabelFile.Parse(Old.Replace(",\"split\"", fields + ",\"split\"", StringComparison.Ordinal), "bad.jsonl", 3));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    private sealed class FormatComparer : IEqualityComparer<LabelRecord>
    {
        public bool Equals(LabelRecord? x, LabelRecord? y) => LabelFile.Format(x!) == LabelFile.Format(y!);

        public int GetHashCode(LabelRecord obj) => LabelFile.Format(obj).GetHashCode(StringComparison.Ordinal);
    }
}
