using System.Diagnostics;
using Shepherd.Core.Labelling;
using Shepherd.Core.Policy;
using Shepherd.Core.Tasks;

namespace Shepherd.Cli.Labelling;

/// <summary>Totals of a labelling run, for the progress line and the summary.</summary>
public sealed class LabelRunStats
{
    private readonly object _lock = new();

    public int Done { get; private set; }

    public int Written { get; private set; }

    public int Skipped { get; private set; }

    public Dictionary<string, int> Dropped { get; } = [];

    public long LlmPromptTokensPaid { get; private set; }

    public long LlmCompletionTokensPaid { get; private set; }

    public int LlmCallsPaid { get; private set; }

    public double UsdPaid { get; private set; }

    public long CallsEquivalentPromptTokens { get; private set; }

    public long CallsEquivalentCompletionTokens { get; private set; }

    public List<LabelRecord> Records { get; } = [];

    /// <summary>Every record labelled by this run, before the filters.</summary>
    public List<LabelRecord> Labelled { get; } = [];

    /// <summary>Training records each outlier reading drops (filled after the run).</summary>
    public IReadOnlyDictionary<OutlierReading, int> OutlierDrops { get; set; } = new Dictionary<OutlierReading, int>();

    /// <summary>What the Batch API bought before the run (<c>--llm-batch</c>), or null.</summary>
    public LabelBatchStats? Batch { get; set; }

    /// <summary>All paid input tokens: the run's calls and the batch's answers.</summary>
    public long PaidPromptTokens => LlmPromptTokensPaid + (Batch?.PromptTokens ?? 0);

    public long PaidCompletionTokens => LlmCompletionTokensPaid + (Batch?.CompletionTokens ?? 0);

    public double PaidUsd => UsdPaid + (Batch?.Usd ?? 0);

    /// <summary>The label figures written beside the labels.</summary>
    public IReadOnlyList<string> Figures { get; set; } = [];

    public void Skip()
    {
        lock (_lock)
        {
            Skipped++;
        }
    }

    public void Add(LabelOutcome outcome)
    {
        lock (_lock)
        {
            Done++;
            LlmPromptTokensPaid += outcome.LlmPromptTokensPaid;
            LlmCompletionTokensPaid += outcome.LlmCompletionTokensPaid;
            LlmCallsPaid += outcome.LlmCallsPaid;
            UsdPaid += outcome.UsdPaid;
            CallsEquivalentPromptTokens += outcome.CallsEquivalentPromptTokens;
            CallsEquivalentCompletionTokens += outcome.CallsEquivalentCompletionTokens;
            Labelled.Add(outcome.Labelled);
            if (outcome.Record is { } record)
            {
                Written++;
                Records.Add(record);
            }
            else
            {
                Dropped[outcome.DroppedBecause!] = Dropped.GetValueOrDefault(outcome.DroppedBecause!) + 1;
            }
        }
    }
}

/// <summary>
/// Labels a dataset split into a JSONL file, resumably: ids already in the file are skipped, each record is
/// appended and flushed as soon as it is done, and every LLM call goes through the hint cache and the ledger, so a
/// run killed half-way and restarted pays for nothing twice.
/// </summary>
public sealed class LabelRun(Labeller labeller, ITaskKind task, int concurrency)
{
    public async Task<LabelRunStats> RunAsync(IReadOnlyList<TaskItem> items, LabelSplit split, string outputPath, Action<LabelRunStats, TimeSpan>? onProgress, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outputPath))!);
        var existing = File.Exists(outputPath) ? LabelFile.ReadAll(outputPath).Select(r => r.Id).ToHashSet(StringComparer.Ordinal) : [];
        var stats = new LabelRunStats();
        var clock = Stopwatch.StartNew();
        var writeLock = new SemaphoreSlim(1, 1);
        await using var stream = new FileStream(outputPath, FileMode.Append, FileAccess.Write, FileShare.Read);
        await using var writer = new StreamWriter(stream) { AutoFlush = false };
        var todo = items.Where(i => !existing.Contains(i.Id)).ToArray();
        for (var i = 0; i < items.Count - todo.Length; i++)
        {
            stats.Skip();
        }

        await Parallel.ForEachAsync(todo, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (item, ct) =>
        {
            var outcome = await labeller.LabelAsync(task, item, split, ct);
            if (outcome.Record is { } record)
            {
                await writeLock.WaitAsync(ct);
                try
                {
                    await writer.WriteLineAsync(LabelFile.Format(record).AsMemory(), ct);
                    await writer.FlushAsync(ct);
                }
                finally
                {
                    writeLock.Release();
                }
            }

            stats.Add(outcome);
            onProgress?.Invoke(stats, clock.Elapsed);
        });

        return stats;
    }
}
