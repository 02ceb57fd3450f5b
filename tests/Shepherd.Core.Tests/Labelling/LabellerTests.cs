using Shepherd.Core.Grading;
using Shepherd.Core.Labelling;
using Shepherd.Core.Policy;
using Shepherd.Core.Sandbox;
using Shepherd.Core.Tasks;

namespace Shepherd.Core.Tests.Labelling;

/// <summary>The ladder logic with scripted models: which n* comes out, what is paid, and the filters.</summary>
public sealed class LabellerTests
{
    private static readonly TaskRegistry Tasks = new(new PythonSandbox());
    private static readonly ITaskKind Gsm8k = Tasks.Get("gsm8k");

    // A 20-word LLM answer ending in the right number; the scripted SLM passes once the hint has ≥ `needed` words.
    private const string Answer = "Tom has 3 apples and buys 4 more so he has 3 + 4 = 7 apples and then doubles them to 14 #### 14";

    private static TaskItem Item(string id = "gsm8k/test/1") => new(id, "gsm8k", "Tom has 3 apples, buys 4, doubles. How many?", "3+4=7, 7*2=14\n#### 14");

    [Fact]
    public async Task NStarIsTheSmallestPassingLevel()
    {
        var models = new ScriptedModels(neededHintWords: 6);

        var outcome = await new Labeller(models, new LabelOptions()).LabelAsync(Gsm8k, Item(), LabelSplit.Train, CancellationToken.None);

        var record = outcome.Record!;
        var words = Answer.Split(' ').Length;
        Assert.Equal(words, record.LlmAnswerTokens);
        Assert.Equal([0, 10, 20, 30, 40, 50, 60, 70, 80, 90], record.Levels.Select(l => l.Percent));
        Assert.Equal(record.Levels.Select(l => l.Percent * words / 100), record.Levels.Select(l => l.HintTokens));
        var expected = record.Levels.First(l => l.HintTokens >= 6).HintTokens;
        Assert.Equal(expected, record.NStar);
        Assert.All(record.Levels, l => Assert.Equal(l.HintTokens >= 6, l.Passed));
        Assert.True(record.LlmPassed);
        Assert.Equal(3, record.Samples);
    }

    [Fact]
    public async Task PrefixLadderPaysOneCallWhileCallsLadderPaysOnePerLevel()
    {
        var prefix = new ScriptedModels(neededHintWords: 100);
        var calls = new ScriptedModels(neededHintWords: 100);

        var a = await new Labeller(prefix, new LabelOptions { OutlierThreshold = 0 }).LabelAsync(Gsm8k, Item(), LabelSplit.Train, CancellationToken.None);
        var b = await new Labeller(calls, new LabelOptions { Ladder = LadderMode.Calls, OutlierThreshold = 0 }).LabelAsync(Gsm8k, Item(), LabelSplit.Train, CancellationToken.None);

        Assert.Equal(1, a.LlmCallsPaid);
        Assert.Equal(1, prefix.LlmCalls);
        Assert.Equal(10, b.LlmCallsPaid);
        Assert.Equal(10, calls.LlmCalls);
        Assert.Equal(b.LlmPromptTokensPaid, a.CallsEquivalentPromptTokens);
        Assert.Equal(b.LlmCompletionTokensPaid, a.CallsEquivalentCompletionTokens);
        Assert.Equal(a.Record!.Levels.Select(l => l.Passed), b.Record!.Levels.Select(l => l.Passed));
    }

    [Fact]
    public async Task NoPassingLevelMeansNoHintSufficed()
    {
        var outcome = await new Labeller(new ScriptedModels(neededHintWords: 1000), new LabelOptions()).LabelAsync(Gsm8k, Item(), LabelSplit.Validation, CancellationToken.None);

        Assert.Equal(LabelRecord.NoHintSufficed, outcome.Record!.NStar);
        Assert.Equal(outcome.Record.LlmAnswerTokens, outcome.Record.EffectiveNStar);
        Assert.Equal(LabelSplit.Validation, outcome.Record.Split);
    }

    [Fact]
    public async Task UnhelpableQueriesWithAWrongLlmAreDropped()
    {
        var models = new ScriptedModels(neededHintWords: 1000) { LlmAnswer = "I think it is 12 #### 12" };

        var outcome = await new Labeller(models, new LabelOptions()).LabelAsync(Gsm8k, Item(), LabelSplit.Train, CancellationToken.None);

        Assert.Null(outcome.Record);
        Assert.Contains("LLM is wrong", outcome.DroppedBecause);
    }

    [Fact]
    public void TheOutlierFilterFlagsOnlyTheMathTasksInconsistentLadders()
    {
        var flipping = Record(Enumerable.Range(0, 10).Select(i => i % 2 == 0).ToArray(), llmPassed: true);
        var labeller = new Labeller(new ScriptedModels(1), new LabelOptions());

        Assert.Equal(5, OutlierFilter.Flags(flipping, OutlierReading.Step));
        Assert.Equal(5, OutlierFilter.Flags(flipping, OutlierReading.QueryMinority));
        Assert.NotNull(labeller.DropReason("gsm8k", flipping, llmPassed: true));
        Assert.Null(labeller.DropReason("mbpp", flipping with { Task = "mbpp" }, llmPassed: true));
        Assert.Null(new Labeller(new ScriptedModels(1), new LabelOptions { OutlierThreshold = 6 }).DropReason("gsm8k", flipping, llmPassed: true));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(9)]
    [InlineData(10)]
    public void ACleanLadderIsKeptWhereverItsStepIs(int firstPassingLevel)
    {
        // Levels 0–90 % fail below the step and pass from it; the full answer (the 11th outcome) passes.
        var clean = Record(Enumerable.Range(0, 10).Select(i => i >= firstPassingLevel).ToArray(), llmPassed: true);

        Assert.Equal(0, OutlierFilter.Flags(clean, OutlierReading.Step));
        Assert.Null(new Labeller(new ScriptedModels(1), new LabelOptions { OutlierThreshold = 1 }).DropReason("gsm8k", clean, llmPassed: true));
    }

    [Fact]
    public void TheOldMinorityCountDroppedCleanLaddersThatTheStepReadingKeeps()
    {
        var stepAtHalf = Record(Enumerable.Range(0, 10).Select(i => i >= 5).ToArray(), llmPassed: true);
        var minority = new Labeller(new ScriptedModels(1), new LabelOptions { OutlierReading = OutlierReading.QueryMinority, OutlierThreshold = 4 });

        Assert.Equal(5, OutlierFilter.Flags(stepAtHalf, OutlierReading.QueryMinority));
        Assert.NotNull(minority.DropReason("gsm8k", stepAtHalf, llmPassed: true));
        Assert.Null(new Labeller(new ScriptedModels(1), new LabelOptions()).DropReason("gsm8k", stepAtHalf, llmPassed: true));
    }

    [Fact]
    public void FlukesAndAlternationsAreDroppedAtTheThreshold()
    {
        // One fluke: a pass at 20 % in a ladder whose step is at 70 %.
        var fluke = Record([false, false, true, false, false, false, false, true, true, true], llmPassed: true);
        // Two flukes: a pass at 10 % and a failure at 80 %.
        var twoFlukes = Record([false, true, false, false, false, true, true, true, false, true], llmPassed: true);
        // The full answer failing after every hint passed is a fluke too (the 11th outcome counts).
        var fullAnswerFails = Record([.. Enumerable.Repeat(true, 10)], llmPassed: false);

        Assert.Equal(1, OutlierFilter.Flags(fluke, OutlierReading.Step));
        Assert.Equal(2, OutlierFilter.Flags(twoFlukes, OutlierReading.Step));
        Assert.Equal(1, OutlierFilter.Flags(fullAnswerFails, OutlierReading.Step));
        var byDefault = new Labeller(new ScriptedModels(1), new LabelOptions());
        Assert.Null(byDefault.DropReason("gsm8k", fluke, llmPassed: true));
        Assert.NotNull(byDefault.DropReason("gsm8k", twoFlukes, llmPassed: true));
        Assert.NotNull(new Labeller(new ScriptedModels(1), new LabelOptions { OutlierThreshold = 1 }).DropReason("gsm8k", fluke, llmPassed: true));
    }

    [Fact]
    public void TheLevelMajorityReadingFlagsLevelsAgainstTheSetsMajority()
    {
        var noHint = Record([.. Enumerable.Repeat(true, 10)], llmPassed: true);
        var late = Record(Enumerable.Range(0, 10).Select(i => i >= 8).ToArray(), llmPassed: true);
        var records = new[] { noHint with { Id = "a" }, noHint with { Id = "b" }, late with { Id = "c" } };

        var counts = OutlierFilter.Count(records, OutlierReading.LevelMajority);

        Assert.Equal([true, true, true, true, true, true, true, true, true, true, true], OutlierFilter.LevelMajority(records));
        Assert.Equal([0, 0, 8], counts.Select(c => c.Flags));
        Assert.Equal(1, OutlierFilter.Dropped(records, OutlierReading.LevelMajority, 4));
        Assert.Equal(0, OutlierFilter.Dropped(records, OutlierReading.Step, 2));
        Assert.Equal([2, 0, 0, 0, 0, 0, 0, 0, 1], OutlierFilter.Histogram(counts));
        // Applied by the run once the set is known, never per record.
        Assert.Null(new Labeller(new ScriptedModels(1), new LabelOptions { OutlierReading = OutlierReading.LevelMajority, OutlierThreshold = 1 }).DropReason("gsm8k", late, llmPassed: true));
    }

    private static LabelRecord Record(bool[] passed, bool llmPassed) => new()
    {
        Id = "x",
        Query = "q",
        Task = "gsm8k",
        NStar = Array.IndexOf(passed, true) is var first and >= 0 ? first : LabelRecord.NoHintSufficed,
        LlmAnswerTokens = 10,
        Levels = [.. passed.Select((p, i) => new LabelLevel { Percent = i * 10, HintTokens = i, Passed = p })],
        Split = LabelSplit.Train,
        LlmPassed = llmPassed,
    };

    [Theory]
    [InlineData(LadderMode.Prefix)]
    [InlineData(LadderMode.Calls)]
    public async Task TheLeanPromptBillsTheLlmForTheInstructionAndQuestionOnly(LadderMode ladder)
    {
        var same = new ScriptedModels(neededHintWords: 6);
        var lean = new ScriptedModels(neededHintWords: 6);

        var a = await new Labeller(same, new LabelOptions { Ladder = ladder }).LabelAsync(Gsm8k, Item(), LabelSplit.Train, CancellationToken.None);
        var b = await new Labeller(lean, new LabelOptions { Ladder = ladder, LlmPrompt = LlmPromptStyle.Lean }).LabelAsync(Gsm8k, Item(), LabelSplit.Train, CancellationToken.None);

        // The paper's prompt: two worked examples (four turns) and the question; lean: the question's turn alone.
        Assert.All(same.LlmPrompts, p => Assert.Equal(5, p.Count));
        Assert.All(lean.LlmPrompts, p => Assert.Equal([ChatMessage.User(Gsm8k.BuildPrompt(Item()))], p));
        Assert.True(b.LlmPromptTokensPaid < a.LlmPromptTokensPaid / 3, $"lean {b.LlmPromptTokensPaid} vs same {a.LlmPromptTokensPaid}");
        // The SLM keeps its few-shot prompt either way, so the labels are alike.
        Assert.Equal(same.SlmPrompts, lean.SlmPrompts);
        Assert.Equal(a.Record!.NStar, b.Record!.NStar);
        Assert.Equal((int)(b.LlmPromptTokensPaid / (ladder == LadderMode.Calls ? 10 : 1)), b.Record.LlmPromptTokens!.Value);
    }

    [Fact]
    public void LeanDropsOnlyTheFewShotTurns()
    {
        var same = LlmPrompt.Messages(Gsm8k, Item(), LlmPromptStyle.Same);
        var lean = LlmPrompt.Messages(Gsm8k, Item(), LlmPromptStyle.Lean);

        Assert.NotEqual(same.Count, lean.Count);
        Assert.Equal(same[^1], lean[^1]);
        Assert.Equal(Tasks.Get("cnk12").BuildMessages(Item()), LlmPrompt.Messages(Tasks.Get("cnk12"), Item(), LlmPromptStyle.Lean));
    }

    [Fact]
    public async Task ARecordWhoseTokenizerDisagreesFallsBackToPerLevelCalls()
    {
        var models = new ScriptedModels(neededHintWords: 6) { ExtraCutTokens = 3 };

        var outcome = await new Labeller(models, new LabelOptions()).LabelAsync(Gsm8k, Item(), LabelSplit.Train, CancellationToken.None);

        Assert.Equal(10, models.LlmCalls);
        Assert.Equal("calls", outcome.Record!.Ladder);
        Assert.Contains("counts 28 tokens in the answer; the LLM billed 25", outcome.Record.LadderCheck, StringComparison.Ordinal);
        Assert.Equal(outcome.LlmPromptTokensPaid, outcome.CallsEquivalentPromptTokens);
    }

    [Theory]
    [InlineData(1, null)]
    [InlineData(0, null)]
    [InlineData(2, "counts 23 tokens")]
    public async Task OneEndTokenIsAllowedAndTheFlagOptionKeepsThePrefixLadder(int extra, string? expected)
    {
        // The LLM billing one token more than the cutter counts (an end token) passes; the flag option keeps one call.
        var models = new ScriptedModels(neededHintWords: 6) { ExtraCutTokens = -extra };

        var outcome = await new Labeller(models, new LabelOptions { OnPrefixCheckFailure = PrefixCheckFailure.Flag }).LabelAsync(Gsm8k, Item(), LabelSplit.Train, CancellationToken.None);

        Assert.Equal(1, models.LlmCalls);
        Assert.Equal("prefix", outcome.Record!.Ladder);
        if (expected is null)
        {
            Assert.Null(outcome.Record.LadderCheck);
        }
        else
        {
            Assert.Contains(expected, outcome.Record.LadderCheck, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ACutInsideAMultiByteCharacterFailsTheCheck()
    {
        var models = new ScriptedModels(neededHintWords: 6) { CutSuffix = "\uFFFD" };

        var outcome = await new Labeller(models, new LabelOptions()).LabelAsync(Gsm8k, Item(), LabelSplit.Train, CancellationToken.None);

        Assert.Equal("calls", outcome.Record!.Ladder);
        Assert.Contains("splits a multi-byte character", outcome.Record.LadderCheck, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheBudgetStopsBeforeAPaidCallWouldCrossIt()
    {
        var models = new ScriptedModels(neededHintWords: 3);
        var labeller = new Labeller(models, new LabelOptions()) { MaxUsd = 0.0015 };

        await labeller.LabelAsync(Gsm8k, Item("a"), LabelSplit.Train, CancellationToken.None);
        await Assert.ThrowsAsync<BudgetExceededException>(() => labeller.LabelAsync(Gsm8k, Item("b"), LabelSplit.Train, CancellationToken.None));

        Assert.Equal(1, models.LlmCalls);
        Assert.True(labeller.SpentUsd <= labeller.MaxUsd);
    }

    [Fact]
    public async Task SeedsComeFromTheQueryIdSoReRunsLabelAlike()
    {
        var first = new ScriptedModels(neededHintWords: 6);
        var second = new ScriptedModels(neededHintWords: 6);

        await new Labeller(first, new LabelOptions()).LabelAsync(Gsm8k, Item(), LabelSplit.Train, CancellationToken.None);
        await new Labeller(second, new LabelOptions()).LabelAsync(Gsm8k, Item(), LabelSplit.Train, CancellationToken.None);

        Assert.Equal(first.Seeds, second.Seeds);
        Assert.Equal(first.Seeds.Count, first.Seeds.Distinct().Count());
    }

    /// <summary>
    /// Words are tokens. The LLM always answers <see cref="Answer"/>; the SLM answers "#### 14" when its hint has at
    /// least the needed number of words, else "#### 0".
    /// </summary>
    private sealed class ScriptedModels(int neededHintWords) : ILabelModels
    {
        public string LlmAnswer { get; init; } = Answer;

        public int LlmCalls { get; private set; }

        public List<ulong> Seeds { get; } = [];

        public List<IReadOnlyList<ChatMessage>> LlmPrompts { get; } = [];

        public List<IReadOnlyList<ChatMessage>> SlmPrompts { get; } = [];

        public Task<LabelLlmAnswer> LlmAsync(IReadOnlyList<ChatMessage> messages, int maxTokens, CancellationToken cancellationToken)
        {
            LlmCalls++;
            LlmPrompts.Add(messages);
            var words = LlmAnswer.Split(' ').Take(maxTokens).ToArray();
            var prompt = messages.Sum(m => m.Content.Split(' ').Length);
            return Task.FromResult(new LabelLlmAnswer(string.Join(' ', words), prompt, words.Length, Cached: false, Usd: CallUsd));
        }

        /// <summary>Each call costs $0.0006 and may cost up to $0.001: with a $0.0015 budget the second call must not start.</summary>
        public double WorstCaseUsd(IReadOnlyList<ChatMessage> messages, int maxTokens) => 0.001;

        private const double CallUsd = 0.0006;

        public Task<string> LlmPrefixAsync(string answer, int tokens, CancellationToken cancellationToken) =>
            Task.FromResult(string.Join(' ', answer.Split(' ').Take(tokens)) + CutSuffix);

        /// <summary>Appended to every cut (a broken character, "\uFFFD", plays a cut inside a multi-byte one).</summary>
        public string CutSuffix { get; init; } = "";

        /// <summary>The cutting tokenizer's count; <see cref="ExtraCutTokens"/> makes it differ from the LLM's.</summary>
        public Task<int> LlmTokenCountAsync(string answer, CancellationToken cancellationToken) =>
            Task.FromResult(answer.Split(' ').Length + ExtraCutTokens);

        public int ExtraCutTokens { get; init; }

        public Task<LabelSlmResult> SlmAsync(IReadOnlyList<ChatMessage> messages, int n, double temperature, ulong seed, CancellationToken cancellationToken)
        {
            Seeds.Add(seed);
            SlmPrompts.Add(messages);
            var last = messages[^1].Content;
            var hintAt = last.IndexOf("\nHint: ", StringComparison.Ordinal);
            var hintWords = hintAt < 0 ? 0 : last[(hintAt + 7)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
            var text = hintWords >= neededHintWords ? "So #### 14" : "So #### 0";
            return Task.FromResult(new LabelSlmResult(Enumerable.Range(0, n).Select(i => new LabelSlmCompletion(text, 3, 0.5 + i)).ToArray(), 100));
        }
    }
}
