using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using LLama;
using LLama.Native;
using Microsoft.Extensions.Options;
using Shepherd.Core.Errors;
using Shepherd.Slm.Model;

namespace Shepherd.Slm.Inference;

/// <summary>
/// One decode loop for the whole process, on its own thread. LLamaSharp serialises inference under a global lock,
/// so parallel executors add nothing; instead every in-flight sequence of every request joins one llama.cpp batch per
/// step (continuous batching). The loop owns that batch outright: each step holds one token per decoding sequence,
/// then prompt chunks up to the batch size, so a step is always a single llama_decode and every sequence in it can be
/// sampled after it. The n samples of a request share one prefill (their KV cells are copied, not recomputed).
/// <para>
/// A failed step never poisons the others: its cells are rolled back, every request in it is retried alone, and only
/// the ones that fail alone fail. When even requests alone keep failing the context is rebuilt; when that does not
/// help the engine reports itself unhealthy (NOT_SERVING) so traffic moves elsewhere.
/// </para>
/// Admission is bounded by sequence slots and KV cells; the waiting queue is bounded too, a full queue is refused at
/// once, and a waiting request whose caller gives up (deadline, cancellation) leaves the queue at once.
/// </summary>
public sealed class GenerationEngine : BackgroundService
{
    // Steps in a row in which every request failed even alone, before the context is rebuilt.
    private const int FailuresBeforeReset = 3;

    private readonly LlamaModel _model;
    private readonly ILogger<GenerationEngine> _logger;
    private readonly ConcurrentQueue<Job> _arrivals = new();
    private readonly ManualResetEventSlim _signal = new(false);
    private readonly List<Job> _pending = [];
    private readonly List<Job> _active = [];
    private readonly float[] _scratch;
    private readonly int _batchTokens;
    private readonly int _chunkTokens;
    private LLamaContext? _context;
    private KvSequences? _kv;
    private PrefixCache? _prefixes;
    private LLamaBatch _batch = new();
    private int _reservedSequences;
    private long _reservedCells;
    private int _allFailedSteps;
    private bool _resetSinceLastSuccess;
    private long _prefixHits;
    private int _activeCount;
    private int _queued;
    private int _activeSequences;
    private long _reservedCellsPublished;
    private volatile string? _unhealthyReason;
    private long _decodeFailures;
    private long _acceptedRequests;
    private long _contextResets;
    // Exponentially weighted duration of recent requests from admission to completion (ms).
    private double _recentRequestMs = 1000;

    public GenerationEngine(LlamaModel model, IOptions<SlmOptions> options, ILogger<GenerationEngine> logger)
    {
        _model = model;
        _logger = logger;
        MaxQueue = options.Value.MaxQueue;
        _scratch = new float[model.VocabSize];
        _batchTokens = model.BatchTokens;
        // Room is always left for one token per decoding sequence, so a prompt chunk always fits beside them.
        _chunkTokens = _batchTokens - model.MaxSequences;
    }

    public int MaxQueue { get; }

    /// <summary>Requests whose prompt started from a cached prefix.</summary>
    public long PrefixCacheHits => Volatile.Read(ref _prefixHits);

    /// <summary>Requests admitted and decoding now.</summary>
    public int ActiveRequests => Volatile.Read(ref _activeCount);

    /// <summary>Requests waiting for a slot.</summary>
    public int QueuedRequests => Volatile.Read(ref _queued);

    /// <summary>Sequences held by admitted requests (n per request).</summary>
    public int ActiveSequences => Volatile.Read(ref _activeSequences);

    /// <summary>KV cells reserved by admitted requests.</summary>
    public long ReservedCells => Volatile.Read(ref _reservedCellsPublished);

    /// <summary>Decode steps that failed (each was retried request by request).</summary>
    public long DecodeFailures => Volatile.Read(ref _decodeFailures);

    /// <summary>Generation requests admitted to the queue since start.</summary>
    public long AcceptedRequests => Volatile.Read(ref _acceptedRequests);

    /// <summary>Times the llama.cpp context was rebuilt after requests kept failing even alone.</summary>
    public long ContextResets => Volatile.Read(ref _contextResets);

    /// <summary>Null while the engine serves; otherwise why it cannot (health then reports NOT_SERVING).</summary>
    public string? UnhealthyReason => _unhealthyReason;

    /// <summary>Test seam: a step holding a request for which this returns true fails as a llama.cpp decode error would.</summary>
    /// The engine's own one-token probe asks with null.
    internal Func<GenerationSpec?, bool>? FaultInjector { get; set; }

    /// <summary>Queues a generation. Throws <see cref="CapacityExceededException"/> at once when the queue is full.</summary>
    public Task<GenerationResult> GenerateAsync(LLamaToken[] prompt, GenerationSpec spec, CompletionDeltaSink? sink, CancellationToken cancellationToken)
    {
        if (_unhealthyReason is { } reason)
        {
            throw new DependencyUnavailableException("slm", $"the SLM decode loop is not serving ({reason}); restart the slm-service");
        }

        // A request that could start at once still passes through the queue for an instant, so at least one
        // place is always allowed, even with MaxQueue = 0.
        if (Interlocked.Increment(ref _queued) > Math.Max(1, MaxQueue))
        {
            Interlocked.Decrement(ref _queued);
            SlmLog.QueueFull(_logger, MaxQueue);
            var wait = RetryAdvice();
            throw new CapacityExceededException($"the SLM queue is full ({MaxQueue} requests waiting); retry after {wait.TotalSeconds:F0} s", wait);
        }

        Interlocked.Increment(ref _acceptedRequests);
        var job = new Job(prompt, spec, sink, cancellationToken);
        // Registered before the job is visible to the loop, so the loop's Release always unregisters it.
        job.Registration = cancellationToken.UnsafeRegister(
            static state =>
            {
                var (engine, j) = ((GenerationEngine, Job))state!;
                engine.OnCallerGaveUp(j);
            },
            (this, job));
        _arrivals.Enqueue(job);
        _signal.Set();
        return job.Completion.Task;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public override void Dispose()
    {
        base.Dispose();
        _signal.Dispose();
    }

    /// <summary>
    /// How long a refused caller should wait: the queue ahead of it drains at about MaxSequences requests per recent
    /// request duration. Whole seconds, 1 to 30.
    /// </summary>
    private TimeSpan RetryAdvice()
    {
        var perRequestMs = Volatile.Read(ref _recentRequestMs);
        var drainMs = perRequestMs * (QueuedRequests + 1) / Math.Max(1, _model.MaxSequences);
        return TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(drainMs / 1000), 1, 30));
    }

    /// <summary>A waiting request leaves the queue at once; an admitted one is stopped by the loop's next step.</summary>
    private void OnCallerGaveUp(Job job)
    {
        if (Interlocked.CompareExchange(ref job.State, JobState.Abandoned, JobState.Queued) == JobState.Queued)
        {
            Interlocked.Decrement(ref _queued);
            job.Completion.TrySetCanceled(job.Cancellation);
        }

        _signal.Set();
    }

    private void Run(CancellationToken stoppingToken)
    {
        try
        {
            CreateContext();
            while (!stoppingToken.IsCancellationRequested)
            {
                if (_active.Count == 0 && _pending.Count == 0 && _arrivals.IsEmpty)
                {
                    _signal.Wait(stoppingToken);
                }

                _signal.Reset();
                while (_arrivals.TryDequeue(out var job))
                {
                    _pending.Add(job);
                }

                try
                {
                    Admit();
                    if (_active.Count > 0)
                    {
                        Step();
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // A defect on the loop itself: the requests in flight fail, the context is rebuilt, the loop goes on.
                    SlmLog.DecodeLoopFailed(_logger, ex);
                    FailActive(new InvalidOperationException("the SLM decode loop failed", ex));
                    Reset("the decode loop failed");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _unhealthyReason = "the decode loop stopped";
            SlmLog.DecodeLoopStopped(_logger, ex);
        }
        finally
        {
            var down = new DependencyUnavailableException("slm", "the SLM service is shutting down");
            FailActive(down);
            FailPending(down);
            _prefixes?.Clear();
            _context?.Dispose();
        }
    }

    private void FailPending(Exception ex)
    {
        while (_arrivals.TryDequeue(out var job))
        {
            _pending.Add(job);
        }

        foreach (var job in _pending)
        {
            if (Interlocked.CompareExchange(ref job.State, JobState.Completed, JobState.Queued) == JobState.Queued)
            {
                Interlocked.Decrement(ref _queued);
                job.Registration.Unregister();
                job.Completion.TrySetException(ex);
            }
        }

        _pending.Clear();
    }

    private void CreateContext()
    {
        _context = _model.Weights.CreateContext(_model.ContextParams);
        _kv = new KvSequences(_context.NativeHandle, _model.SequenceIds, _model.KvUnified);
        _prefixes = new PrefixCache(_model.PrefixCacheEntries, _model.PrefixCacheMinTokens, _kv);
        _batch = new LLamaBatch();
    }

    /// <summary>Rebuilds the llama.cpp context; when that fails too the engine stops serving.</summary>
    private void Reset(string why)
    {
        Interlocked.Increment(ref _contextResets);
        SlmLog.ContextReset(_logger, why);
        try
        {
            _context?.Dispose();
            CreateContext();
            _reservedSequences = 0;
            _reservedCells = 0;
        }
        catch (Exception ex)
        {
            _unhealthyReason = "the llama.cpp context could not be rebuilt";
            SlmLog.DecodeLoopStopped(_logger, ex);
            throw;
        }
    }

    private void Admit()
    {
        for (var i = 0; i < _pending.Count; i++)
        {
            var job = _pending[i];
            if (Volatile.Read(ref job.State) != JobState.Queued)
            {
                _pending.RemoveAt(i--);
                continue;
            }

            var cells = job.Prompt.Length + ((long)job.Spec.N * job.Spec.MaxTokens);
            cells = Math.Min(cells, job.Prompt.Length + ((long)job.Spec.N * (_model.ContextSize - job.Prompt.Length)));
            // Cached prefixes give way to requests: evict them before refusing a request room.
            while (!Fits(job, cells) && _prefixes!.EvictOldest())
            {
            }

            // The queue is first come, first served: a request that does not fit waits, and so do the ones behind it.
            if (!Fits(job, cells) && _active.Count > 0)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref job.State, JobState.Admitted, JobState.Queued) != JobState.Queued)
            {
                _pending.RemoveAt(i--);
                continue;
            }

            _pending.RemoveAt(i--);
            Interlocked.Decrement(ref _queued);
            if (!_kv!.TryRent(out var root))
            {
                // Cannot happen while reservations hold; fail this request alone rather than the loop.
                job.Completion.TrySetException(new CapacityExceededException("no SLM sequence is free; retry later"));
                continue;
            }

            job.Root = root;
            job.ReservedCells = cells;
            job.AdmittedAt = Stopwatch.GetTimestamp();
            job.Fed = _prefixes!.CopyLongestPrefix(job.Prompt, root);
            if (job.Fed > 0)
            {
                Interlocked.Increment(ref _prefixHits);
            }

            _active.Add(job);
            _reservedSequences += job.Spec.N;
            _reservedCells += cells;
            Interlocked.Increment(ref _activeCount);
            Publish();
        }
    }

    private bool Fits(Job job, long cells) =>
        _reservedSequences + job.Spec.N <= _model.MaxSequences
        && _reservedCells + _prefixes!.Cells + cells <= _model.KvCacheSize;

    private void Step()
    {
        // Callers that gave up free their sequences before anything is decoded for them.
        for (var j = _active.Count - 1; j >= 0; j--)
        {
            if (_active[j].Cancellation.IsCancellationRequested)
            {
                Abort(_active[j], CompletionFinish.Cancelled);
                Complete(_active[j]);
                _active.RemoveAt(j);
            }
        }

        if (_active.Count == 0)
        {
            return;
        }

        var budget = _batchTokens;
        var stepJobs = new List<Job>(_active.Count);
        // Decoding sequences first, one token each; then prompt chunks in admission order.
        foreach (var job in _active)
        {
            if (job.Sequences is not null)
            {
                job.StepTokens = job.Sequences.Count(s => !s.Done && s.Pending is not null);
                if (job.StepTokens > 0)
                {
                    budget -= job.StepTokens;
                    stepJobs.Add(job);
                }
            }
        }

        foreach (var job in _active)
        {
            if (job.Sequences is null)
            {
                // Chunks end at fixed multiples of the chunk size, so a prompt is split alike whatever else runs.
                var chunk = Math.Min(job.Prompt.Length - job.Fed, _chunkTokens - (job.Fed % _chunkTokens));
                if (chunk > budget)
                {
                    break;
                }

                job.StepTokens = chunk;
                budget -= chunk;
                stepJobs.Add(job);
            }
        }

        if (Decode(stepJobs))
        {
            foreach (var job in stepJobs)
            {
                AfterDecode(job);
            }

            Succeeded();
        }
        else
        {
            // Never let one request poison the others: each is retried alone, and only those that fail alone fail.
            Interlocked.Increment(ref _decodeFailures);
            var anySucceeded = false;
            foreach (var job in stepJobs)
            {
                if (Decode([job]))
                {
                    AfterDecode(job);
                    anySucceeded = true;
                }
                else
                {
                    SlmLog.RequestDecodeFailed(_logger, job.Prompt.Length, job.Spec.N, job.LastStatus.ToString());
                    Abort(job, CompletionFinish.Cancelled);
                    job.Failure = job.LastStatus == DecodeResult.NoKvSlot
                        ? new CapacityExceededException("the SLM has no KV-cache room for this request now; retry later")
                        : new DependencyUnavailableException("slm", "the SLM could not decode this request");
                }
            }

            if (anySucceeded || ProbeSucceeds())
            {
                // Requests that fail alone while a one-token probe decodes are their own fault, not the engine's.
                Succeeded();
            }
            else if (++_allFailedSteps >= FailuresBeforeReset)
            {
                CollectFinished();
                if (_resetSinceLastSuccess)
                {
                    // A rebuilt context did not help: stop taking work so traffic goes to a replica that can serve it.
                    _unhealthyReason = "requests keep failing after the context was rebuilt";
                    SlmLog.DecodeLoopUnhealthy(_logger, _unhealthyReason);
                    var down = new DependencyUnavailableException("slm", $"the SLM decode loop is not serving ({_unhealthyReason})");
                    FailActive(down);
                    FailPending(down);
                    return;
                }

                FailActive(new DependencyUnavailableException("slm", "the SLM decode loop is recovering; retry"));
                Reset("every request failed even alone");
                _resetSinceLastSuccess = true;
                _allFailedSteps = 0;
                return;
            }
        }

        CollectFinished();
    }

    /// <summary>Decodes one token in a spare sequence: does the context still work at all?</summary>
    private bool ProbeSucceeds()
    {
        if (!_kv!.TryRent(out var id))
        {
            return false;
        }

        try
        {
            _batch.Clear();
            _batch.Add(_model.ProbeToken, 0, id, true);
            return FaultInjector?.Invoke(null) != true && _context!.Decode(_batch) == DecodeResult.Ok;
        }
        catch (Exception)
        {
            return false;
        }
        finally
        {
            _kv.Free(id);
        }
    }

    private void Succeeded()
    {
        _allFailedSteps = 0;
        _resetSinceLastSuccess = false;
    }

    private void CollectFinished()
    {
        for (var j = _active.Count - 1; j >= 0; j--)
        {
            var job = _active[j];
            if (job.Failure is not null || (job.Sequences is not null && job.Sequences.All(s => s.Done)))
            {
                Complete(job);
                _active.RemoveAt(j);
            }
        }
    }

    /// <summary>Decodes the step's tokens of <paramref name="jobs"/> as one batch; on failure rolls their cells back.</summary>
    private bool Decode(IReadOnlyList<Job> jobs)
    {
        _batch.Clear();
        var injected = false;
        foreach (var job in jobs)
        {
            injected |= FaultInjector?.Invoke(job.Spec) == true;
            if (job.Sequences is null)
            {
                var last = job.Fed + job.StepTokens == job.Prompt.Length;
                for (var t = 0; t < job.StepTokens; t++)
                {
                    var position = job.Fed + t;
                    var index = _batch.Add(job.Prompt[position], position, job.Root, last && t == job.StepTokens - 1);
                    job.LogitsIndex = index;
                }
            }
            else
            {
                foreach (var seq in job.Sequences)
                {
                    if (!seq.Done && seq.Pending is { } token)
                    {
                        seq.LogitsIndex = _batch.Add(token, seq.Position, seq.Id, true);
                    }
                }
            }
        }

        DecodeResult status;
        try
        {
            status = injected ? DecodeResult.DecodeFailed : _context!.Decode(_batch);
        }
        catch (Exception ex)
        {
            SlmLog.DecodeLoopFailed(_logger, ex);
            status = DecodeResult.DecodeFailed;
        }

        if (status == DecodeResult.Ok)
        {
            return true;
        }

        // llama.cpp restores the memory for most failures but not all; dropping every position this step wrote
        // leaves each sequence exactly as it was before the step either way.
        foreach (var job in jobs)
        {
            job.LastStatus = status;
            if (job.Sequences is null)
            {
                _kv!.TruncateFrom(job.Root, job.Fed);
            }
            else
            {
                foreach (var seq in job.Sequences)
                {
                    if (!seq.Done && seq.Pending is not null)
                    {
                        _kv!.TruncateFrom(seq.Id, seq.Position);
                    }
                }
            }
        }

        return false;
    }

    private void AfterDecode(Job job)
    {
        if (job.Sequences is null)
        {
            job.Fed += job.StepTokens;
            if (job.Fed == job.Prompt.Length)
            {
                StartSampling(job);
            }

            return;
        }

        foreach (var seq in job.Sequences)
        {
            if (!seq.Done && seq.Pending is not null)
            {
                seq.Pending = null;
                seq.Position++;
                Advance(job, seq, _context!.NativeHandle.GetLogitsIth(seq.LogitsIndex));
            }
        }
    }

    private void StartSampling(Job job)
    {
        job.PrefillDoneAt = Stopwatch.GetTimestamp();
        _prefixes!.Offer(job.Root, job.Prompt);
        var sequences = new Sequence[job.Spec.N];
        for (var i = 0; i < sequences.Length; i++)
        {
            LLamaSeqId id;
            if (i == 0)
            {
                id = job.Root;
            }
            else if (!_kv!.TryRent(out id))
            {
                throw new InvalidOperationException("no sequence id free for a reserved sample");
            }
            else
            {
                _kv.Copy(job.Root, id, job.Prompt.Length);
            }

            sequences[i] = new Sequence(i, id, job.Prompt.Length, new Random(unchecked((int)(job.Spec.Seed + (ulong)i))), new StreamingTokenDecoder(Encoding.UTF8, _model.Weights));
        }

        job.Sequences = sequences;
        // Every sample starts from the same logits: those of the prompt's last token.
        var logits = _context!.NativeHandle.GetLogitsIth(job.LogitsIndex);
        foreach (var seq in sequences)
        {
            Advance(job, seq, logits);
        }
    }

    private void Advance(Job job, Sequence seq, ReadOnlySpan<float> logits)
    {
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
        if (seq.Generated >= job.Spec.MaxTokens || seq.Position + 1 > _model.ContextSize)
        {
            Finish(job, seq, CompletionFinish.Length);
            return;
        }

        EmitSafeText(job, seq, final: false);
        seq.Pending = (LLamaToken)token;
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
        seq.Pending = null;
        seq.Finish = finish;
        seq.FinishedAt = Stopwatch.GetTimestamp();
        if (finish != CompletionFinish.Cancelled)
        {
            EmitSafeText(job, seq, final: true);
        }

        _kv!.Free(seq.Id);
    }

    /// <summary>Frees every sequence the request still holds.</summary>
    private void Abort(Job job, CompletionFinish finish)
    {
        if (job.Sequences is null)
        {
            if (!job.RootFreed)
            {
                _kv!.Free(job.Root);
                job.RootFreed = true;
            }

            job.Sequences = [];
            return;
        }

        foreach (var seq in job.Sequences)
        {
            if (!seq.Done)
            {
                Finish(job, seq, finish);
            }
        }
    }

    private void Complete(Job job)
    {
        Release(job);
        if (job.Failure is not null)
        {
            job.Completion.TrySetException(job.Failure);
            return;
        }

        if (job.Cancellation.IsCancellationRequested)
        {
            job.Completion.TrySetCanceled(job.Cancellation);
            return;
        }

        var end = job.Sequences!.Length == 0 ? Stopwatch.GetTimestamp() : job.Sequences.Max(s => s.FinishedAt);
        Volatile.Write(ref _recentRequestMs, (0.9 * _recentRequestMs) + (0.1 * Stopwatch.GetElapsedTime(job.AdmittedAt, end).TotalMilliseconds));
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
        Volatile.Write(ref job.State, JobState.Completed);
        job.Registration.Unregister();
        _reservedSequences -= job.Spec.N;
        _reservedCells -= job.ReservedCells;
        Interlocked.Decrement(ref _activeCount);
        Publish();
    }

    private void Publish()
    {
        Volatile.Write(ref _activeSequences, _reservedSequences);
        Volatile.Write(ref _reservedCellsPublished, _reservedCells);
    }

    /// <summary>Fails every admitted request (their cells are dropped with the context or freed here).</summary>
    private void FailActive(Exception ex)
    {
        foreach (var job in _active)
        {
            try
            {
                Abort(job, CompletionFinish.Cancelled);
            }
            catch (Exception)
            {
                // The context may be unusable; its cells go with it.
            }

            job.Failure ??= ex;
            Complete(job);
        }

        _active.Clear();
    }

    private static class JobState
    {
        public const int Queued = 0;
        public const int Admitted = 1;
        public const int Abandoned = 2;
        public const int Completed = 3;
    }

    private sealed class Job(LLamaToken[] prompt, GenerationSpec spec, CompletionDeltaSink? sink, CancellationToken cancellation)
    {
        public int State;

        public LLamaToken[] Prompt { get; } = prompt;

        public GenerationSpec Spec { get; } = spec;

        public CompletionDeltaSink? Sink { get; } = sink;

        public CancellationToken Cancellation { get; } = cancellation;

        public CancellationTokenRegistration Registration { get; set; }

        public int MaxStopLength { get; } = spec.Stops.Count == 0 ? 1 : spec.Stops.Max(s => s.Length);

        public TaskCompletionSource<GenerationResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long EnqueuedAt { get; } = Stopwatch.GetTimestamp();

        public long AdmittedAt { get; set; }

        public long PrefillDoneAt { get; set; }

        public long ReservedCells { get; set; }

        public LLamaSeqId Root { get; set; }

        public bool RootFreed { get; set; }

        /// <summary>Prompt tokens already in the KV cache.</summary>
        public int Fed { get; set; }

        /// <summary>Tokens this request puts in the current step.</summary>
        public int StepTokens { get; set; }

        public int LogitsIndex { get; set; }

        public DecodeResult LastStatus { get; set; }

        public Exception? Failure { get; set; }

        public Sequence[]? Sequences { get; set; }
    }

    private sealed class Sequence(int index, LLamaSeqId id, int position, Random rng, StreamingTokenDecoder decoder)
    {
        public int Index { get; } = index;

        public LLamaSeqId Id { get; } = id;

        /// <summary>Position of the next token fed to this sequence.</summary>
        public int Position { get; set; } = position;

        /// <summary>The sampled token waiting to be decoded.</summary>
        public LLamaToken? Pending { get; set; }

        public int LogitsIndex { get; set; }

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
