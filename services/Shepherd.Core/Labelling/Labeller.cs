using System.Security.Cryptography;
using System.Text;
using Shepherd.Core.Policy;
using Shepherd.Core.Strategies;
using Shepherd.Core.Tasks;

namespace Shepherd.Core.Labelling;

/// <summary>What labelling one query paid for and produced.</summary>
/// <param name="Record">The label, or null when a filter dropped the query.</param>
/// <param name="DroppedBecause">Why it was dropped, when it was.</param>
/// <param name="CallsEquivalentPromptTokens">LLM prompt tokens the paper's one-call-per-level protocol pays for the same ladder.</param>
/// <param name="CallsEquivalentCompletionTokens">LLM output tokens that protocol pays: |h_l| plus every n_p.</param>
/// <param name="Labelled">The label before the filters (for the outlier histogram and the other readings' counts).</param>
public sealed record LabelOutcome(
    LabelRecord? Record,
    string? DroppedBecause,
    long LlmPromptTokensPaid,
    long LlmCompletionTokensPaid,
    int LlmCallsPaid,
    double UsdPaid,
    long CallsEquivalentPromptTokens,
    long CallsEquivalentCompletionTokens,
    LabelRecord Labelled);

/// <summary>A paid call would cross the labelling budget; nothing was paid for it.</summary>
public sealed class BudgetExceededException(string message) : Exception(message);

/// <summary>
/// Builds the hint ladder of one query (paper.md, "Labels"): the LLM's full answer h_l at temperature 0; for each
/// level p, n_p = ⌊p·|h_l|/100⌋ and the hint is the first n_p LLM tokens of that one answer (or, with
/// <see cref="LadderMode.Calls"/>, a separate max_completion_tokens = n_p call); the SLM answers with each hint;
/// n* is the smallest passing n_p, else -1 (no hint sufficed: the size target becomes |h_l|). K unhinted samples
/// give the reactive features and the consensus outcome. Seeds derive from the query id, so a re-run labels alike.
/// </summary>
public sealed class Labeller(ILabelModels models, LabelOptions options)
{
    private readonly object _budgetLock = new();
    private double _spent;

    /// <summary>Stop before a paid call would take the total over this (null: no limit).</summary>
    public double? MaxUsd { get; init; }

    public double SpentUsd
    {
        get
        {
            lock (_budgetLock)
            {
                return _spent;
            }
        }
    }

    public static ulong SeedOf(string id) => BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(id)), 0) & 0x7FFF_FFFF_FFFF_FFFF;

    public async Task<LabelOutcome> LabelAsync(ITaskKind task, TaskItem item, LabelSplit split, CancellationToken cancellationToken)
    {
        options.Validate();
        var messages = task.BuildMessages(item);
        var llmMessages = LlmPrompt.Messages(task, item, options.LlmPrompt);
        var seed = SeedOf(item.Id);

        var full = await PaidAsync(llmMessages, options.MaxAnswerTokens, cancellationToken);
        var paid = new PaidTally();
        paid.Add(full);
        var answerTokens = (int)full.CompletionTokens;
        var llmGrade = await task.GradeAsync(item, full.Text, cancellationToken);

        // Cutting one answer into hints equals the paper's per-level calls only when the cut counts tokens as the LLM
        // does and never splits a character; checked per record, else that record buys its levels (or is flagged).
        var cuts = new Dictionary<int, string>();
        string? check = null;
        var useCalls = options.Ladder == LadderMode.Calls;
        if (!useCalls && answerTokens > 0)
        {
            check = await CheckPrefixLadderAsync(full, options.Levels.Select(p => p * answerTokens / 100).Where(n => n > 0).Distinct(), cuts, cancellationToken);
            useCalls = check is not null && options.OnPrefixCheckFailure == PrefixCheckFailure.Fallback;
        }

        var levels = new List<LabelLevel>();
        // The paper's protocol pays the full answer, then the prompt again and n_p output tokens for every level.
        long callsPrompt = full.PromptTokens, callsCompletion = answerTokens;
        int? slmPromptTokens = null;
        for (var i = 0; i < options.Levels.Count; i++)
        {
            var percent = options.Levels[i];
            var n = percent * answerTokens / 100;
            string? hint = null;
            if (n > 0)
            {
                if (useCalls)
                {
                    var call = await PaidAsync(llmMessages, n, cancellationToken);
                    paid.Add(call);
                    hint = call.Text;
                }
                else
                {
                    hint = cuts.TryGetValue(n, out var cut) ? cut : await models.LlmPrefixAsync(full.Text, n, cancellationToken);
                }

                callsPrompt += full.PromptTokens;
                callsCompletion += n;
            }

            var result = await models.SlmAsync(task.BuildMessages(item, hint), options.Trials, options.Temperature, seed + (ulong)(i * 64), cancellationToken);
            slmPromptTokens ??= n == 0 ? result.PromptTokens : null;
            var passes = 0;
            foreach (var completion in result.Completions)
            {
                passes += (await task.GradeAsync(item, completion.Text, cancellationToken)).Passed ? 1 : 0;
            }

            levels.Add(new LabelLevel
            {
                Percent = percent,
                HintTokens = n,
                Passed = passes * 2 > result.Completions.Count,
                PassRate = (double)passes / result.Completions.Count,
                SlmAnswerTokens = result.Completions.Average(c => (double)c.Tokens),
            });
        }


        var samples = await models.SlmAsync(messages, options.Samples, options.Temperature, seed + 4096, cancellationToken);
        var keys = samples.Completions.Select(c => task.Extract(c.Text, item).Key).ToArray();
        var vote = Consensus.Vote(keys, 1);
        var sampleAnswers = new List<LabelSample>();
        for (var i = 0; i < samples.Completions.Count; i++)
        {
            var completion = samples.Completions[i];
            var passed = (await task.GradeAsync(item, completion.Text, cancellationToken)).Passed;
            sampleAnswers.Add(new LabelSample { Key = keys[i], Passed = passed, Entropy = completion.MeanEntropy, Tokens = completion.Tokens });
        }

        var consensusPassed = vote.FirstIndex >= 0 && sampleAnswers[vote.FirstIndex].Passed;

        var firstPass = levels.FirstOrDefault(l => l.Passed);
        var nStar = firstPass?.HintTokens ?? LabelRecord.NoHintSufficed;
        var record = new LabelRecord
        {
            Id = item.Id,
            Query = item.Query,
            Task = task.Name,
            NStar = nStar,
            LlmAnswerTokens = answerTokens,
            Levels = levels,
            Split = split,
            Features = new Dictionary<string, double>
            {
                [PolicyFeatureNames.MeanEntropy] = samples.Completions.Average(c => c.MeanEntropy),
                [PolicyFeatureNames.MeanOutputLength] = samples.Completions.Average(c => (double)c.Tokens),
            },
            LlmPassed = llmGrade.Passed,
            LlmPromptTokens = (int)full.PromptTokens,
            SlmPromptTokens = slmPromptTokens,
            SlmAnswerTokens = levels.FirstOrDefault(l => l.HintTokens == 0)?.SlmAnswerTokens,
            Trials = options.Trials,
            Samples = options.Samples,
            AgreeMax = vote.Votes,
            ConsensusPassed = consensusPassed,
            SampleAnswers = sampleAnswers,
            Ladder = useCalls ? "calls" : "prefix",
            LadderCheck = check,
        };

        var dropped = DropReason(task.Name, record, llmGrade.Passed);
        return new LabelOutcome(
            dropped is null ? record : null, dropped,
            paid.PromptTokens, paid.CompletionTokens, paid.Calls, paid.Usd,
            callsPrompt, callsCompletion, record);
    }

    /// <summary>
    /// The paper's filters: unhelpable queries, and (gsm8k, cnk12) queries whose 11-outcome ladder is inconsistent
    /// (<see cref="OutlierFilter"/>). The level-majority reading needs the whole training set, so the run applies it
    /// once every query is labelled, not here.
    /// </summary>
    public string? DropReason(string taskName, LabelRecord record, bool llmPassed)
    {
        if (options.DropUnhelpable && record.NStar == LabelRecord.NoHintSufficed && !llmPassed)
        {
            return "no hint helps and the LLM is wrong too";
        }

        if (options.OutlierThreshold > 0 && OutlierFilter.Applies(taskName) && options.OutlierReading != OutlierReading.LevelMajority)
        {
            var flags = OutlierFilter.Flags(record with { LlmPassed = llmPassed }, options.OutlierReading);
            if (flags >= options.OutlierThreshold)
            {
                return $"outlier ({OutlierFilter.Name(options.OutlierReading)}): {flags} flagged levels (threshold {options.OutlierThreshold})";
            }
        }

        return null;
    }

    /// <summary>
    /// The prefix ladder's assumptions for one answer: re-tokenised by the cutting tokenizer it gives back
    /// <c>completion_tokens</c> (or one fewer: an end token), and no cut splits a UTF-8 character or leaves the
    /// answer's text. Null when they hold, else why not. Fills <paramref name="cuts"/> (n → hint) as it goes.
    /// </summary>
    private async Task<string?> CheckPrefixLadderAsync(LabelLlmAnswer full, IEnumerable<int> lengths, Dictionary<int, string> cuts, CancellationToken cancellationToken)
    {
        var counted = await models.LlmTokenCountAsync(full.Text, cancellationToken);
        if (counted != full.CompletionTokens && counted + 1 != full.CompletionTokens)
        {
            return $"the cutting tokenizer counts {counted} tokens in the answer; the LLM billed {full.CompletionTokens}";
        }

        foreach (var n in lengths)
        {
            var cut = await models.LlmPrefixAsync(full.Text, n, cancellationToken);
            if (cut.Contains('\uFFFD', StringComparison.Ordinal) && !full.Text.Contains('\uFFFD', StringComparison.Ordinal))
            {
                return $"the {n}-token cut splits a multi-byte character";
            }

            if (!full.Text.TrimStart().StartsWith(cut.TrimStart(), StringComparison.Ordinal))
            {
                return $"the {n}-token cut is not a prefix of the answer";
            }

            cuts[n] = cut;
        }

        return null;
    }

    private async Task<LabelLlmAnswer> PaidAsync(IReadOnlyList<ChatMessage> messages, int maxTokens, CancellationToken cancellationToken)
    {
        if (MaxUsd is { } max)
        {
            var worst = models.WorstCaseUsd(messages, maxTokens);
            lock (_budgetLock)
            {
                if (_spent + worst > max)
                {
                    throw new BudgetExceededException($"the next LLM call could cost up to ${worst:F6}; ${_spent:F6} of ${max:F6} is spent");
                }

                // Reserve the worst case until the real cost is known, so parallel workers cannot overshoot together.
                _spent += worst;
            }

            try
            {
                var answer = await models.LlmAsync(messages, maxTokens, cancellationToken);
                lock (_budgetLock)
                {
                    _spent += answer.Usd - worst;
                }

                return answer;
            }
            catch
            {
                lock (_budgetLock)
                {
                    _spent -= worst;
                }

                throw;
            }
        }

        var result = await models.LlmAsync(messages, maxTokens, cancellationToken);
        lock (_budgetLock)
        {
            _spent += result.Usd;
        }

        return result;
    }

    private sealed class PaidTally
    {
        public long PromptTokens { get; private set; }

        public long CompletionTokens { get; private set; }

        public int Calls { get; private set; }

        public double Usd { get; private set; }

        public void Add(LabelLlmAnswer answer)
        {
            if (answer.Cached)
            {
                return;
            }

            PromptTokens += answer.PromptTokens;
            CompletionTokens += answer.CompletionTokens;
            Calls++;
            Usd += answer.Usd;
        }
    }
}
