using System.Diagnostics;
using System.Threading.Channels;
using Shepherd.Core.Errors;
using Shepherd.Policy.Model.Prediction;

namespace Shepherd.Policy.Batching;

/// <summary>
/// Folds concurrent single Predict calls into one encoder run. One run at a time holds the gate. A call that
/// finds the service idle (gate free, queue empty) runs at once on its own thread: a lone caller pays no
/// queue hop and no wait. Otherwise it is queued; a reader loop takes the gate, drains the queue and, when the
/// previous batch had company (concurrent traffic), waits at most MaxWaitMs for more before running the
/// batch. Calls are validated before they are queued, so a bad one cannot fail its neighbours.
/// </summary>
public sealed class PredictionBatcher : IAsyncDisposable
{
    private readonly PolicyPredictor _predictor;
    private readonly int _maxBatchSize;
    private readonly TimeSpan _maxWait;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Task _loop;
    private readonly PolicyMetrics? _metrics;
    private long _runs;
    private long _calls;

    public PredictionBatcher(PolicyPredictor predictor, int maxBatchSize, TimeSpan maxWait, int capacity, ILogger logger, PolicyMetrics? metrics = null)
    {
        _metrics = metrics;
        _predictor = predictor;
        _maxBatchSize = maxBatchSize;
        _maxWait = maxWait;
        _logger = logger;
        _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Encoder runs so far (inline and batched).</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>Predict calls answered so far.</summary>
    public long Calls => Interlocked.Read(ref _calls);

    public Task<PolicyPrediction> PredictAsync(PolicyQuery query, CancellationToken cancellationToken)
    {
        _predictor.Validate(query);
        if (_queue.Reader.Count == 0 && _gate.Wait(0))
        {
            try
            {
                var prediction = _predictor.Predict([query], cancellationToken)[0];
                Interlocked.Increment(ref _runs);
                Interlocked.Increment(ref _calls);
                _metrics?.Ran(1);
                return Task.FromResult(prediction);
            }
            finally
            {
                _gate.Release();
            }
        }

        var pending = new Pending(query, new TaskCompletionSource<PolicyPrediction>(TaskCreationOptions.RunContinuationsAsynchronously), cancellationToken);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new CapacityExceededException("The policy queue is full; retry later.");
        }

        return pending.Completion.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
        _gate.Dispose();
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Pending>(_maxBatchSize);
        var hadCompany = false;
        while (await reader.WaitToReadAsync(_stopping.Token))
        {
            await _gate.WaitAsync(_stopping.Token);
            try
            {
                batch.Clear();
                Drain(reader, batch);
                if (hadCompany && batch.Count < _maxBatchSize && _maxWait > TimeSpan.Zero)
                {
                    await WaitForCompanyAsync(reader, batch);
                }

                hadCompany = batch.Count > 1 || reader.Count > 0;
                batch.RemoveAll(p => p.CancellationToken.IsCancellationRequested);
                if (batch.Count > 0)
                {
                    Run(batch);
                }
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    private void Drain(ChannelReader<Pending> reader, List<Pending> batch)
    {
        while (batch.Count < _maxBatchSize && reader.TryRead(out var pending))
        {
            batch.Add(pending);
        }
    }

    private async Task WaitForCompanyAsync(ChannelReader<Pending> reader, List<Pending> batch)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(_maxWait.TotalSeconds * Stopwatch.Frequency);
        while (batch.Count < _maxBatchSize)
        {
            var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(remaining);
            try
            {
                if (!await reader.WaitToReadAsync(timeout.Token))
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
            {
                return;
            }

            Drain(reader, batch);
        }
    }

    private void Run(List<Pending> batch)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var predictions = _predictor.Predict(batch.Select(p => p.Query).ToArray());
            Interlocked.Increment(ref _runs);
            Interlocked.Add(ref _calls, batch.Count);
            _metrics?.Ran(batch.Count);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetResult(predictions[i]);
            }

            PolicyLog.BatchRan(_logger, batch.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex)
        {
            PolicyLog.BatchFailed(_logger, batch.Count, ex);
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(ex);
            }
        }
    }

    private sealed record Pending(PolicyQuery Query, TaskCompletionSource<PolicyPrediction> Completion, CancellationToken CancellationToken);
}
