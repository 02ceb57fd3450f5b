using System.Diagnostics;
using System.Threading.Channels;
using Shepherd.Core.Errors;
using Shepherd.Policy.Model.Prediction;

namespace Shepherd.Policy.Batching;

/// <summary>
/// Folds concurrent single Predict calls into one encoder run. A reader loop takes the first waiting call,
/// drains whatever else is queued, and, when the previous batch had company (concurrent traffic), waits at
/// most MaxWaitMs for more before running the batch. A lone sequential caller therefore never waits.
/// Calls are validated before they are queued, so a bad one cannot fail its neighbours.
/// </summary>
public sealed class PredictionBatcher : IAsyncDisposable
{
    private readonly PolicyPredictor _predictor;
    private readonly int _maxBatchSize;
    private readonly TimeSpan _maxWait;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    public PredictionBatcher(PolicyPredictor predictor, int maxBatchSize, TimeSpan maxWait, int capacity, ILogger logger)
    {
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

    public Task<PolicyPrediction> PredictAsync(PolicyQuery query, CancellationToken cancellationToken)
    {
        _predictor.Validate(query);
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
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Pending>(_maxBatchSize);
        var hadCompany = false;
        while (await reader.WaitToReadAsync(_stopping.Token))
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
