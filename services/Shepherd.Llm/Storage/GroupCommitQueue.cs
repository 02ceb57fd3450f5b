using Shepherd.Core.Errors;

namespace Shepherd.Llm.Storage;

/// <summary>
/// Group commit: callers queue items and wait; one committer at a time takes whatever has queued (up to a batch) and
/// commits it in one go, so N concurrent writers pay one transaction and one fsync instead of N. A caller's task
/// completes only after the commit that holds its item returned, so a success is durable. While a batch commits the
/// next one fills up, so there is no timer. A caller that finds no commit running commits its own batch inline (a
/// lone writer pays no thread hand-off); if more queued meanwhile, a background loop takes over until the queue is
/// empty. The queue is bounded: when it is full, writers wait to enter it (backpressure), and a writer that gives up
/// while waiting has queued nothing.
/// </summary>
internal sealed class GroupCommitQueue<T> : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Queue<Pending> _queue = new();
    private readonly SemaphoreSlim _room;
    private readonly Func<IReadOnlyList<T>, Task> _commit;
    private readonly string _name;
    private readonly int _maxBatch;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Invariant (under _lock): when no commit is running, the queue is empty.
    private bool _committing;
    private bool _closed;

    /// <param name="commit">Commits a batch durably or throws; never called concurrently.</param>
    public GroupCommitQueue(string name, Func<IReadOnlyList<T>, Task> commit, int capacity, int maxBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _name = name;
        _commit = commit;
        _maxBatch = maxBatch;
        _room = new SemaphoreSlim(capacity, capacity);
    }

    /// <summary>Items queued and not yet taken into a batch.</summary>
    public int Queued
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Whether a batch is being committed (or more are about to be).</summary>
    public bool Committing
    {
        get
        {
            lock (_lock)
            {
                return _committing;
            }
        }
    }

    /// <summary>
    /// Completes once <paramref name="item"/> is committed. <paramref name="cancellationToken"/> applies only while
    /// the queue is full: once queued, the item is committed (or its batch fails) whatever the caller does.
    /// </summary>
    public async Task AddAsync(T item, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _closed))
        {
            throw Closed();
        }

        await _room.WaitAsync(cancellationToken);
        var pending = new Pending(item);
        bool lead;
        lock (_lock)
        {
            if (_closed)
            {
                _room.Release();
                throw Closed();
            }

            _queue.Enqueue(pending);
            lead = !_committing;
            _committing = true;
        }

        if (lead)
        {
            // The queue was empty, so this caller's item is in the first batch.
            await CommitNextAsync();
            if (MoreQueued())
            {
                _ = Task.Run(DrainAsync);
            }
        }

        await pending.Done.Task;
    }

    /// <summary>Refuses new items, commits everything already queued, then returns.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            _closed = true;
            if (!_committing)
            {
                _drained.TrySetResult();
            }
        }

        await _drained.Task;
    }

    private ObjectDisposedException Closed() => new(_name, $"{_name} is shut down; the row was not written");

    private async Task DrainAsync()
    {
        do
        {
            await CommitNextAsync();
        }
        while (MoreQueued());
    }

    /// <summary>After a batch: true when more is queued (the caller goes on committing), else the committer stops.</summary>
    private bool MoreQueued()
    {
        lock (_lock)
        {
            if (_queue.Count > 0)
            {
                return true;
            }

            _committing = false;
            if (_closed)
            {
                _drained.TrySetResult();
            }

            return false;
        }
    }

    private async Task CommitNextAsync()
    {
        Pending[] batch;
        lock (_lock)
        {
            batch = new Pending[Math.Min(_maxBatch, _queue.Count)];
            for (var i = 0; i < batch.Length; i++)
            {
                batch[i] = _queue.Dequeue();
            }
        }

        _room.Release(batch.Length);
        try
        {
            await _commit(Array.ConvertAll(batch, p => p.Item));
            foreach (var pending in batch)
            {
                pending.Done.TrySetResult();
            }
        }
        catch (Exception ex)
        {
            // Only this batch's callers fail; the next batch is tried afresh. The message names no database detail
            // (it reaches clients as UNAVAILABLE); the inner exception carries it to the logs.
            var error = new DependencyUnavailableException(
                _name, $"the commit of a batch of {batch.Length} row(s), this call's among them, failed", ex);
            foreach (var pending in batch)
            {
                pending.Done.TrySetException(error);
            }
        }
    }

    private sealed class Pending(T item)
    {
        public T Item { get; } = item;

        // Continuations run off the committer, so callers' work never delays the next commit.
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
