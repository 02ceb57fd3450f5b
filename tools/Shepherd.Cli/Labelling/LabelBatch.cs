using System.Text.Json;
using Shepherd.Core.Labelling;
using Shepherd.Core.Tasks;
using Shepherd.Llm;
using Shepherd.Llm.Storage;

namespace Shepherd.Cli.Labelling;

/// <summary>What the Batch API bought for a labelling run.</summary>
public sealed record LabelBatchStats(int Requested, int Answered, int Failed, long PromptTokens, long CompletionTokens, double Usd, IReadOnlyList<string> Failures);

/// <summary>Progress of a batch while it runs.</summary>
public sealed record LabelBatchProgress(string Phase, string BatchId, string Status, int Total, int Completed, int Failed);

/// <summary>
/// <c>shepherd label --llm-batch</c>: the run's LLM requests go out as Batch API jobs before the ladder is built —
/// first every full answer, then (with <c>--ladder calls</c>) every level's max_completion_tokens = n_p request.
/// Each answer is booked in the ledger at the batch price, then the hint cache, so the labelling that follows finds
/// it cached and pays nothing more for it. The batch id is stored beside the labels (<c>X.batch.json</c>) as soon as
/// the batch exists, so a killed run resumes polling it instead of submitting again; a request the batch failed is
/// left to the labelling's own call (list price).
/// </summary>
public sealed class LabelBatch(PaidLlm paid, ILedger ledger, OpenAiBatchClient client, ITaskKind task, LabelOptions options, string stateFile, TimeSpan pollInterval)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string StateFile(string labels) => Path.ChangeExtension(labels, null) + ".batch.json";

    public async Task<LabelBatchStats> RunAsync(IReadOnlyList<TaskItem> items, Action<LabelBatchProgress>? progress, CancellationToken cancellationToken)
    {
        var byId = items.ToDictionary(i => i.Id, StringComparer.Ordinal);
        var total = new Tally();
        await PhaseAsync("full", byId, _ => Task.FromResult<int[]>([options.MaxAnswerTokens]), total, progress, cancellationToken);
        if (options.Ladder == LadderMode.Calls)
        {
            await PhaseAsync("levels", byId, async item =>
            {
                var full = await paid.CachedAsync(Messages(item), options.MaxAnswerTokens, cancellationToken);
                return full is null ? [] : [.. options.Levels.Select(p => (int)(p * full.CompletionTokens / 100)).Where(n => n > 0).Distinct()];
            }, total, progress, cancellationToken);
        }

        return new LabelBatchStats(total.Requested, total.Answered, total.Failures.Count, total.PromptTokens, total.CompletionTokens, total.Usd, total.Failures);
    }

    private IReadOnlyList<Core.Tasks.ChatMessage> Messages(TaskItem item) => LlmPrompt.Messages(task, item, options.LlmPrompt);

    private async Task PhaseAsync(string phase, Dictionary<string, TaskItem> items, Func<TaskItem, Task<int[]>> caps, Tally total, Action<LabelBatchProgress>? progress, CancellationToken cancellationToken)
    {
        var state = File.Exists(stateFile) ? JsonSerializer.Deserialize<BatchState>(await File.ReadAllTextAsync(stateFile, cancellationToken), Json) : null;
        if (state is null || state.Phase != phase)
        {
            if (state is not null && PhaseOrder(state.Phase) > PhaseOrder(phase))
            {
                return; // a resumed run already finished this phase
            }

            var requests = new List<LlmBatchRequest>();
            var wanted = new Dictionary<string, BatchEntry>(StringComparer.Ordinal);
            foreach (var item in items.Values)
            {
                foreach (var cap in await caps(item))
                {
                    var messages = Messages(item);
                    if (await paid.CachedAsync(messages, cap, cancellationToken) is not null)
                    {
                        continue; // bought before (an earlier run, or a batch whose results were booked)
                    }

                    var customId = $"{phase}-{wanted.Count}";
                    wanted[customId] = new BatchEntry(item.Id, cap);
                    requests.Add(new LlmBatchRequest(customId, new LlmRequest([.. messages.Select(m => new LlmMessage(m.Role, m.Content))], cap)));
                }
            }

            if (requests.Count == 0)
            {
                return;
            }

            var created = await client.SubmitAsync(requests, cancellationToken);
            state = new BatchState(phase, created.Id, wanted);
            // Stored before anything else can fail, so a killed run finds the batch instead of paying for another.
            await File.WriteAllTextAsync(stateFile, JsonSerializer.Serialize(state, Json), cancellationToken);
        }

        var status = await client.GetAsync(state.BatchId, cancellationToken);
        while (!status.IsFinal)
        {
            progress?.Invoke(new LabelBatchProgress(phase, status.Id, status.Status, status.Total, status.Completed, status.Failed));
            await Task.Delay(pollInterval, cancellationToken);
            status = await client.GetAsync(state.BatchId, cancellationToken);
        }

        progress?.Invoke(new LabelBatchProgress(phase, status.Id, status.Status, status.Total, status.Completed, status.Failed));
        var answered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var result in await client.ResultsAsync(status, cancellationToken))
        {
            if (!state.Requests.TryGetValue(result.CustomId, out var entry) || !items.TryGetValue(entry.ItemId, out var item))
            {
                continue;
            }

            if (result.Completion is not { } completion)
            {
                total.Failures.Add($"{entry.ItemId} ({entry.MaxTokens} tokens): {result.Error}");
                continue;
            }

            answered.Add(result.CustomId);
            // An answer the cache already holds was booked by an earlier run (a resumed run pays nothing twice); else
            // the ledger row first, then the cache, so no cached answer goes unbooked.
            var messages = Messages(item);
            if (await paid.CachedAsync(messages, entry.MaxTokens, cancellationToken) is null)
            {
                var charge = paid.BatchCharge(completion);
                await ledger.RecordAsync(charge.ToLedgerEntry(DateTimeOffset.UtcNow, new LedgerTag($"label-batch/{state.BatchId}/{result.CustomId}", "label", "label")), CancellationToken.None);
                await paid.StoreBatchAsync(messages, completion);
                var cost = charge.Cost;
                total.PromptTokens += completion.PromptTokens;
                total.CompletionTokens += completion.CompletionTokens;
                total.Usd += cost.TotalUsd;
            }
        }

        foreach (var missing in state.Requests.Keys.Where(k => !answered.Contains(k) && status.Status != "completed"))
        {
            total.Failures.Add($"{state.Requests[missing].ItemId}: the batch ended {status.Status}");
        }

        total.Requested += state.Requests.Count;
        total.Answered += answered.Count;
        File.Delete(stateFile);
    }

    private static int PhaseOrder(string phase) => phase == "full" ? 0 : 1;

    private sealed record BatchEntry(string ItemId, int MaxTokens);

    private sealed record BatchState(string Phase, string BatchId, Dictionary<string, BatchEntry> Requests);

    private sealed class Tally
    {
        public int Requested { get; set; }

        public int Answered { get; set; }

        public long PromptTokens { get; set; }

        public long CompletionTokens { get; set; }

        public double Usd { get; set; }

        public List<string> Failures { get; } = [];
    }
}
