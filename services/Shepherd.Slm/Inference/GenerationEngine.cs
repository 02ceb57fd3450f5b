using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using LLama;
using LLama.Batched;
using LLama.Native;
using Microsoft.Extensions.Options;
using Shepherd.Core.Errors;
using Shepherd.Slm.Model;

namespace Shepherd.Slm.Inference;

/// <summary>
/// One decode loop for the whole process. LLamaSharp serialises inference under a global lock, so parallel
/// executors add nothing; instead every in-flight sequence of every request joins one BatchedExecutor batch per
/// step (continuous batching). The n samples of a request are forks of one prefilled Conversation, so they share
/// the prompt's KV cells and its prefill. Admission is bounded by sequence slots and KV cells; the waiting queue
/// is bounded too, and a full queue is refused at once.
/// </summary>
public sealed class GenerationEngine : BackgroundService
{
    private readonly LlamaModel _model;
    private readonly ILogger<GenerationEngine> _logger;
    private readonly Channel<Job> _queue;
    private readonly List<Job> _active = [];
    private readonly float[] _scratch;
    private readonly PrefixCache _prefixes;
    private Job? _waiting;
    private int _activeSequences;
    private long _reservedCells;

    public GenerationEngine(LlamaModel model, IOptions<SlmOptions> options, ILogger<GenerationEngine> logger)
    {
        _model = model;
        _logger = logger;
        MaxQueue = options.Value.MaxQueue;
        // Waiting requests are counted exactly by _queued (channel plus _waiting); the channel itself is unbounded.
        _queue = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true });
        _scratch = new float[model.VocabSize];
        _prefixes = new PrefixCache(model.PrefixCacheEntries, model.PrefixCacheMinTokens);
    }

    /// <summary>Requests whose prompt started from a cached prefix.</summary>
    public long PrefixCacheHits => Volatile.Read(ref _prefixHits);

    private long _prefixHits;

    public int MaxQueue { get; }

    /// <summary>Requests admitted and decoding now.</summary>
    public int ActiveRequests => Volatile.Read(ref _activeCount);

    /// <summary>Requests waiting for a slot.</summary>
    public int QueuedRequests => Volatile.Read(ref _queued);

    private int _activeCount;
    private int _queued;

    /// <summary>Queues a generation. Throws <see cref="CapacityExceededException"/> at once when the queue is full.</summary>
    public Task<GenerationResult> GenerateAsync(LLamaToken[] prompt, GenerationSpec spec, CompletionDeltaSink? sink, CancellationToken cancellationToken)
    {
        var job = new Job(prompt, spec, sink, cancellationToken);
        // A request that could start at once still passes through the queue for an instant, so at least one
        // place is always allowed, even with MaxQueue = 0.
        if (Interlocked.Increment(ref _queued) > Math.Max(1, MaxQueue) || !_queue.Writer.TryWrite(job))
        {
            Interlocked.Decrement(ref _queued);
            SlmLog.QueueFull(_logger, MaxQueue);
            throw new CapacityExceededException($"the SLM queue is full ({MaxQueue} requests waiting); retry later");
        }

        return job.Completion.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        using var executor = new BatchedExecutor(_model.Weights, _model.ContextParams);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Admit(executor);
                if (_active.Count == 0)
                {
                    if (_waiting is null)
                    {
                        _waiting = await _queue.Reader.ReadAsync(stoppingToken);
                    }

                    continue;
                }

                try
                {
                    if (executor.BatchedTokenCount > 0)
                    {
                        var status = await executor.Infer(stoppingToken);
                        if (status != DecodeResult.Ok)
                        {
                            FailAll(new InvalidOperationException($"llama.cpp decode failed: {status}"));
                            _prefixes.Clear();
                            continue;
                        }
                    }

                    Step();
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    SlmLog.DecodeLoopFailed(_logger, ex);
                    FailAll(ex);
                    _prefixes.Clear();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            FailAll(new DependencyUnavailableException("slm", "the SLM service is shutting down"));
            _prefixes.Clear();
            while (_queue.Reader.TryRead(out var queued))
            {
                queued.Completion.TrySetException(new DependencyUnavailableException("slm", "the SLM service is shutting down"));
            }
        }
    }

    private void Admit(BatchedExecutor executor)
    {
        while (true)
        {
            if (_waiting is null && !_queue.Reader.TryRead(out _waiting))
            {
                return;
            }

            var job = _waiting;
            if (job.Cancellation.IsCancellationRequested)
            {
                _waiting = null;
                Interlocked.Decrement(ref _queued);
                job.Completion.TrySetCanceled(job.Cancellation);
                continue;
            }

            var cells = job.Prompt.Length + ((long)job.Spec.N * job.Spec.MaxTokens);
            cells = Math.Min(cells, job.Prompt.Length + ((long)job.Spec.N * (_model.ContextSize - job.Prompt.Length)));
            // Cached prefixes give way to requests: evict them before refusing a request room.
            while (_reservedCells + _prefixes.Cells + cells > _model.KvCacheSize && _prefixes.EvictOldest())
            {
            }

            var fits = _activeSequences + job.Spec.N <= _model.MaxSequences && _reservedCells + _prefixes.Cells + cells <= _model.KvCacheSize;
            if (!fits && _active.Count > 0)
            {
                return;
            }

            _waiting = null;
            Interlocked.Decrement(ref _queued);
            job.ReservedCells = cells;
            job.AdmittedAt = Stopwatch.GetTimestamp();
            if (_prefixes.Take(job.Prompt) is { } hit)
            {
                job.Root = hit.Conversation;
                job.Root.Prompt(job.Prompt.AsSpan(hit.Reused));
                Interlocked.Increment(ref _prefixHits);
            }
            else
            {
                job.Root = executor.Create();
                job.Root.Prompt(job.Prompt);
            }
            _active.Add(job);
            _activeSequences += job.Spec.N;
            _reservedCells += cells;
            Interlocked.Increment(ref _activeCount);
        }
    }

    private void Step()
    {
        for (var j = _active.Count - 1; j >= 0; j--)
        {
            var job = _active[j];
            if (job.Cancellation.IsCancellationRequested)
            {
                FinishRemaining(job, CompletionFinish.Cancelled);
            }
            else if (job.Sequences is null)
            {
                if (job.Root!.RequiresInference)
                {
                    continue;
                }

                StartSampling(job);
            }

            if (job.Sequences is not null)
            {
                foreach (var seq in job.Sequences)
                {
                    if (!seq.Done)
                    {
                        Advance(job, seq);
                    }
                }
            }

            if (job.Sequences is not null && job.Sequences.All(s => s.Done))
            {
                Complete(job);
                _active.RemoveAt(j);
            }
        }
    }

    private void StartSampling(Job job)
    {
        job.PrefillDoneAt = Stopwatch.GetTimestamp();
        _prefixes.Offer(job.Root!, job.Prompt);
        var sequences = new Sequence[job.Spec.N];
        for (var i = 0; i < sequences.Length; i++)
        {
            var conversation = i == 0 ? job.Root! : job.Root!.Fork();
            sequences[i] = new Sequence(i, conversation, new Random(unchecked((int)(job.Spec.Seed + (ulong)i))), new StreamingTokenDecoder(Encoding.UTF8, _model.Weights));
        }

        job.Sequences = sequences;
    }

    private void Advance(Job job, Sequence seq)
    {
        var logits = seq.Conversation.Sample();
        var (token, entropy) = TokenSampler.Sample(logits, job.Spec.Temperature, job.Spec.TopP, seq.Rng, _scratch);
        seq.EntropySum += entropy;
        seq.Steps++;
        if (_model.IsEndOfGeneration(token))
        {
            Finish(job, seq, CompletionFinish.Stop);
            return;
        }

        seq.Generated++;
        seq.Decoder.Add(token);
        seq.Text.Append(seq.Decoder.Read());
        if (StopSequences.Find(seq.Text, job.Spec.Stops, seq.StopScanFrom) is { } stopAt)
        {
            seq.Text.Length = stopAt;
            Finish(job, seq, CompletionFinish.Stop);
            return;
        }

        seq.StopScanFrom = Math.Max(0, seq.Text.Length - job.MaxStopLength + 1);
        if (seq.Generated >= job.Spec.MaxTokens || seq.Conversation.TokenCount + 1 > _model.ContextSize)
        {
            Finish(job, seq, CompletionFinish.Length);
            return;
        }

        EmitSafeText(job, seq, final: false);
        seq.Conversation.Prompt((LLamaToken)token);
    }

    private static void EmitSafeText(Job job, Sequence seq, bool final)
    {
        if (job.Sink is null)
        {
            return;
        }

        // Hold back text that could still become the start of a stop sequence.
        var safe = final ? seq.Text.Length : Math.Max(seq.Emitted, seq.Text.Length - job.MaxStopLength + 1);
        if (safe > seq.Emitted)
        {
            job.Sink(seq.Index, seq.Text.ToString(seq.Emitted, safe - seq.Emitted));
            seq.Emitted = safe;
        }
    }

    private void Finish(Job job, Sequence seq, CompletionFinish finish)
    {
        seq.Done = true;
        seq.Finish = finish;
        seq.FinishedAt = Stopwatch.GetTimestamp();
        if (finish != CompletionFinish.Cancelled)
        {
            EmitSafeText(job, seq, final: true);
        }

        seq.Conversation.Dispose();
    }

    private void FinishRemaining(Job job, CompletionFinish finish)
    {
        if (job.Sequences is null)
        {
            job.Root!.Dispose();
            job.Sequences = [];
            return;
        }

        foreach (var seq in job.Sequences.Where(s => !s.Done))
        {
            Finish(job, seq, finish);
        }
    }

    private void Complete(Job job)
    {
        Release(job);
        if (job.Cancellation.IsCancellationRequested)
        {
            job.Completion.TrySetCanceled(job.Cancellation);
            return;
        }

        var end = job.Sequences!.Length == 0 ? Stopwatch.GetTimestamp() : job.Sequences.Max(s => s.FinishedAt);
        var completions = job.Sequences
            .Select(s => new CompletionResult(s.Index, s.Text.ToString(), s.Generated, s.Steps == 0 ? 0 : s.EntropySum / s.Steps, s.Finish))
            .ToArray();
        job.Completion.TrySetResult(new GenerationResult(
            completions,
            job.Prompt.Length,
            Stopwatch.GetElapsedTime(job.EnqueuedAt, job.AdmittedAt).TotalMilliseconds,
            Stopwatch.GetElapsedTime(job.AdmittedAt, job.PrefillDoneAt).TotalMilliseconds,
            Stopwatch.GetElapsedTime(job.PrefillDoneAt, end).TotalMilliseconds));
    }

    private void Release(Job job)
    {
        _activeSequences -= job.Spec.N;
        _reservedCells -= job.ReservedCells;
        Interlocked.Decrement(ref _activeCount);
    }

    private void FailAll(Exception ex)
    {
        foreach (var job in _active)
        {
            try
            {
                FinishRemaining(job, CompletionFinish.Cancelled);
            }
            catch (ObjectDisposedException)
            {
            }

            Release(job);
            job.Completion.TrySetException(ex);
        }

        _active.Clear();
    }

    private sealed class Job(LLamaToken[] prompt, GenerationSpec spec, CompletionDeltaSink? sink, CancellationToken cancellation)
    {
        public LLamaToken[] Prompt { get; } = prompt;

        public GenerationSpec Spec { get; } = spec;

        public CompletionDeltaSink? Sink { get; } = sink;

        public CancellationToken Cancellation { get; } = cancellation;

        public int MaxStopLength { get; } = spec.Stops.Count == 0 ? 1 : spec.Stops.Max(s => s.Length);

        public TaskCompletionSource<GenerationResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long EnqueuedAt { get; } = Stopwatch.GetTimestamp();

        public long AdmittedAt { get; set; }

        public long PrefillDoneAt { get; set; }

        public long ReservedCells { get; set; }

        public Conversation? Root { get; set; }

        public Sequence[]? Sequences { get; set; }
    }

    private sealed class Sequence(int index, Conversation conversation, Random rng, StreamingTokenDecoder decoder)
    {
        public int Index { get; } = index;

        public Conversation Conversation { get; } = conversation;

        public Random Rng { get; } = rng;

        public StreamingTokenDecoder Decoder { get; } = decoder;

        public StringBuilder Text { get; } = new();

        public int Generated { get; set; }

        public int Steps { get; set; }

        public double EntropySum { get; set; }

        public int StopScanFrom { get; set; }

        public int Emitted { get; set; }

        public bool Done { get; set; }

        public CompletionFinish Finish { get; set; }

        public long FinishedAt { get; set; }
    }
}
