using System.Threading.Channels;
using Shepherd.Core.Errors;

namespace Shepherd.Llm.Storage;

/// <summary>
/// Group commit: callers queue items and wait; one writer loop takes whatever has queued (up to a batch) and commits
/// it in one go, so N concurrent writers pay one transaction and one fsync instead of N. A caller's task completes
/// only after the commit that holds its item returned, so a success is durable. While a batch commits the next one
/// fills up, so there is no timer and a lone writer waits for its own commit only. The queue is bounded: when it is
/// full, writers wait to enter it (backpressure), and a writer that gives up while waiting has queued nothing.
/// </summary>
internal sealed class GroupCommitQueue<T> : IAsyncDisposable
{
    private readonly Channel<Pending> _queue;
    private readonly Func<IReadOnlyList<T>, Task> _commit;
    private readonly string _name;
    private readonly int _maxBatch;
    private readonly Task _writer;

    /// <param name="commit">Commits a batch durably or throws; called by one loop, never concurrently.</param>
    public GroupCommitQueue(string name, Func<IReadOnlyList<T>, Task> commit, int capacity, int maxBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _name = name;
        _commit = commit;
        _maxBatch = maxBatch;
        _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _writer = Task.Run(WriteAsync);
    }

    /// <summary>Items queued and not yet taken by the writer loop.</summary>
    public int Queued => _queue.Reader.Count;

    /// <summary>Batches committed so far (failed ones not counted).</summary>
    public long Commits { get; private set; }

    /// <summary>
    /// Completes once <paramref name="item"/> is committed. <paramref name="cancellationToken"/> applies only while
    /// the queue is full: once queued, the item is committed (or its batch fails) whatever the caller does.
    /// </summary>
    public async Task AddAsync(T item, CancellationToken cancellationToken)
    {
        var pending = new Pending(item);
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(_name, $"{_name} is shut down; the row was not written");
        }

        await pending.Done.Task;
    }

    /// <summary>Stops taking items, commits everything already queued, then returns.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
    }

    private async Task WriteAsync()
    {
        var batch = new List<Pending>(_maxBatch);
        var items = new List<T>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
                items.Add(pending.Item);
            }

            try
            {
                await _commit(items);
                Commits++;
                foreach (var pending in batch)
                {
                    pending.Done.TrySetResult();
                }
            }
            catch (Exception ex)
            {
                // Only this batch's callers fail; the loop goes on with the next batch. The message names no
                // database detail (it reaches clients); the inner exception carries it to the logs.
                var error = new DependencyUnavailableException(
                    _name, $"the commit of a batch of {batch.Count} row(s), this call's among them, failed", ex);
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(error);
                }
            }

            batch.Clear();
            items.Clear();
        }
    }

    private sealed class Pending(T item)
    {
        public T Item { get; } = item;

        // Continuations run off the writer loop, so callers' work never delays the next commit.
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
