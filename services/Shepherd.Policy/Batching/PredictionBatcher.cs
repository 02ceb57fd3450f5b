using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Shepherd.Core.Errors;
using Shepherd.Core.Policy;
using Shepherd.Policy.Model.Prediction;

namespace Shepherd.Policy.Batching;

/// <summary>
/// Runs a bundle's encoder on a dedicated inference thread, one run at a time, and folds concurrent single Predict
/// calls into one run.
/// <para>
/// Why a dedicated thread: an encoder run blocks the thread that makes it (10–300 ms on CPU). Made on thread-pool
/// threads, as Kestrel's request handlers are, a few concurrent runs on a 2-core box starve the pool. Kestrel, the
/// health checks and the gRPC plumbing then wait for the pool to inject threads: PredictBatch calls that stalled
/// for about a second in PolicyBenchmarkTests. Here request threads only enqueue and await, and runs never
/// overlap: OnnxRuntime's intra-op threads are the only parallelism, and nothing oversubscribes the cores.
/// </para>
/// <para>
/// Single calls are drained together into one run (at most MaxBatchSize). While traffic is concurrent (the previous
/// run had company) the loop waits at most MaxWaitMs for more; a lone caller never waits. A PredictBatch chunk is
/// one job that runs alone, in arrival order with the single calls, so a long PredictBatch cannot hold single
/// callers back for more than one chunk. Calls are validated before they are queued, so a bad one cannot fail its
/// neighbours; more than <c>capacity</c> queued jobs get RESOURCE_EXHAUSTED.
/// </para>
/// </summary>
public sealed class PredictionBatcher : IAsyncDisposable
{
    private readonly PolicyPredictor _predictor;
    private readonly int _maxBatchSize;
    private readonly TimeSpan _maxWait;
    private readonly int _capacity;
    private readonly ILogger _logger;
    private readonly PolicyMetrics? _metrics;
    private readonly ConcurrentQueue<Job> _jobs = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _queued;
    private long _runs;
    private long _calls;

    public PredictionBatcher(PolicyPredictor predictor, int maxBatchSize, TimeSpan maxWait, int capacity, ILogger logger, PolicyMetrics? metrics = null)
    {
        _metrics = metrics;
        _predictor = predictor;
        _maxBatchSize = maxBatchSize;
        _maxWait = maxWait;
        _capacity = capacity;
        _logger = logger;
        _thread = new Thread(Loop) { IsBackground = true, Name = $"policy-inference {predictor.Mode.ToWire()}" };
        _thread.Start();
    }

    /// <summary>Encoder runs for single Predict calls so far.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>Predict calls answered so far.</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>Decides one query; concurrent calls share encoder runs.</summary>
    public Task<PolicyPrediction> PredictAsync(PolicyQuery query, CancellationToken cancellationToken)
    {
        _predictor.Validate(query);
        var single = new OneQuery(query, cancellationToken);
        Enqueue(single);
        return single.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Decides a chunk of validated queries in one job on the inference thread (PredictBatch: one job per chunk of at
    /// most MaxBatchSize, so single callers get a turn between chunks).
    /// </summary>
    public Task<IReadOnlyList<PolicyPrediction>> PredictChunkAsync(IReadOnlyList<PolicyQuery> queries, CancellationToken cancellationToken)
    {
        var chunk = new Chunk(queries, cancellationToken);
        Enqueue(chunk);
        return chunk.Completion.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _stopped.Task;
        while (_jobs.TryDequeue(out var job))
        {
            job.Cancel();
        }

        _stopping.Dispose();
        _signal.Dispose();
    }

    private void Enqueue(Job job)
    {
        if (Interlocked.Increment(ref _queued) > _capacity)
        {
            Interlocked.Decrement(ref _queued);
            throw new CapacityExceededException("The policy queue is full; retry later.");
        }

        if (_stopping.IsCancellationRequested)
        {
            Interlocked.Decrement(ref _queued);
            throw new RpcException(new Status(StatusCode.Unavailable, "The policy service is stopping; retry on another replica."));
        }

        _jobs.Enqueue(job);
        _signal.Release();
    }

    private void Loop()
    {
        var singles = new List<OneQuery>(_maxBatchSize);
        var hadCompany = false;
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                Wait(Timeout.InfiniteTimeSpan);
                while (_jobs.TryPeek(out var head))
                {
                    if (head is Chunk)
                    {
                        Take();
                        RunChunk((Chunk)head);
                        continue;
                    }

                    singles.Clear();
                    DrainSingles(singles);
                    if (hadCompany && singles.Count < _maxBatchSize && _maxWait > TimeSpan.Zero)
                    {
                        WaitForCompany(singles);
                    }

                    hadCompany = singles.Count > 1 || !_jobs.IsEmpty;
                    singles.RemoveAll(s => s.CancellationToken.IsCancellationRequested);
                    if (singles.Count > 0)
                    {
                        RunSingles(singles);
                    }
                }
            }
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    /// <summary>Blocks until a job may be queued (true), or the timeout passes or the batcher stops (false).</summary>
    private bool Wait(TimeSpan timeout)
    {
        try
        {
            return _signal.Wait(timeout, _stopping.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private Job Take()
    {
        _jobs.TryDequeue(out var job);
        Interlocked.Decrement(ref _queued);
        return job!;
    }

    /// <summary>Takes queued single calls up to the batch size, stopping at a PredictBatch chunk.</summary>
    private void DrainSingles(List<OneQuery> singles)
    {
        while (singles.Count < _maxBatchSize && _jobs.TryPeek(out var head) && head is OneQuery)
        {
            singles.Add((OneQuery)Take());
        }
    }

    private void WaitForCompany(List<OneQuery> singles)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(_maxWait.TotalSeconds * Stopwatch.Frequency);
        while (singles.Count < _maxBatchSize && !(_jobs.TryPeek(out var head) && head is Chunk))
        {
            var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero || !Wait(remaining))
            {
                return;
            }

            DrainSingles(singles);
        }
    }

    private void RunSingles(List<OneQuery> singles)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var predictions = _predictor.Predict(singles.Select(p => p.Query).ToArray());
            Interlocked.Increment(ref _runs);
            Interlocked.Add(ref _calls, singles.Count);
            _metrics?.Ran(singles.Count);
            for (var i = 0; i < singles.Count; i++)
            {
                singles[i].Completion.TrySetResult(predictions[i]);
            }

            PolicyLog.BatchRan(_logger, singles.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex)
        {
            PolicyLog.BatchFailed(_logger, singles.Count, ex);
            foreach (var single in singles)
            {
                single.Completion.TrySetException(ex);
            }
        }
    }

    private void RunChunk(Chunk chunk)
    {
        if (chunk.CancellationToken.IsCancellationRequested)
        {
            chunk.Cancel();
            return;
        }

        try
        {
            var predictions = _predictor.Predict(chunk.Queries, chunk.CancellationToken);
            _metrics?.Ran(chunk.Queries.Count);
            chunk.Completion.TrySetResult(predictions);
        }
        catch (OperationCanceledException)
        {
            chunk.Cancel();
        }
        catch (Exception ex)
        {
            PolicyLog.BatchFailed(_logger, chunk.Queries.Count, ex);
            chunk.Completion.TrySetException(ex);
        }
    }

    private abstract class Job(CancellationToken cancellationToken)
    {
        public CancellationToken CancellationToken { get; } = cancellationToken;

        public abstract void Cancel();
    }

    private sealed class OneQuery(PolicyQuery query, CancellationToken cancellationToken) : Job(cancellationToken)
    {
        public PolicyQuery Query { get; } = query;

        public TaskCompletionSource<PolicyPrediction> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Cancel() => Completion.TrySetCanceled(CancellationToken);
    }

    private sealed class Chunk(IReadOnlyList<PolicyQuery> queries, CancellationToken cancellationToken) : Job(cancellationToken)
    {
        public IReadOnlyList<PolicyQuery> Queries { get; } = queries;

        public TaskCompletionSource<IReadOnlyList<PolicyPrediction>> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Cancel() => Completion.TrySetCanceled(CancellationToken);
    }
}
