using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace Shepherd.Core.Sandbox;

/// <summary>
/// Runs untrusted Python (model-written code plus its tests) in a fresh python3 process per run.
/// </summary>
/// <remarks>
/// <para>Layout of one run: <c>unshare --net --pid --fork --kill-child python3 -I -B -c SUPERVISOR config.json</c>.
/// The supervisor (Sandbox/supervisor.py) is PID 1 of new network and PID namespaces; it forks the program's
/// process, which calls <c>setsid</c>, sets its rlimits (CPU seconds, address space, process count, file size,
/// no core dumps), drops to uid/gid <see cref="SandboxOptions.BaseUid"/> + slot (only when we are root), enters a
/// fresh work directory and installs an audit hook refusing writes outside it. Rlimits are set by that Python
/// code rather than by <c>prlimit</c> so the same path works with and without namespaces.</para>
/// <para>Why a uid drop: root ignores RLIMIT_NPROC, so a fork bomb run as root is not contained by rlimits.
/// Under its own uid (one per parallel slot, so runs don't share a process budget) fork fails past the limit,
/// and when the supervisor exits, the PID namespace takes every remaining process down with it.</para>
/// <para>Where <c>unshare</c> is not permitted the supervisor runs as a plain child: <see cref="SandboxIsolation"/>
/// reports NetworkIsolation=false and PidNamespace=false, the audit hook then also refuses sockets, subprocesses
/// and exec, and at the end only the program's process group is killed.</para>
/// <para>The environment is scrubbed to PATH, LANG and HOME (the work directory). Stdin is closed. Stdout and
/// stderr together are capped at <see cref="SandboxOptions.OutputLimitBytes"/>; past it the tree is killed.
/// The supervisor enforces the wall-clock limit; the host kills the whole process tree 5 s later if it did not.
/// The per-run directory is deleted afterwards.</para>
/// </remarks>
public sealed class PythonSandbox : IDisposable
{
    private const string SupervisorResource = "Shepherd.Core.Sandbox.supervisor.py";
    private const string SystemPython = "/usr/bin/python3";
    private const string ProbeProgram = "import collections, functools, hashlib, heapq, itertools, json, math, re, string, typing\n";
    private const int SigKill = 9;
    private const int SigXcpu = 24;
    private const int SigXfsz = 25;
    private static readonly TimeSpan HostGrace = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(20);
    private static readonly string[] NamespaceArguments = ["--net", "--pid", "--fork", "--kill-child"];
    private static readonly Lazy<string> Supervisor = new(LoadSupervisor);

    private readonly SandboxOptions _options;
    private readonly SemaphoreSlim _gate;
    private readonly ConcurrentQueue<int> _freeSlots = new();
    private readonly Lazy<Task<Probe>> _probe;

    public PythonSandbox(SandboxOptions? options = null)
    {
        _options = options ?? new SandboxOptions();
        _options.Validate();
        _gate = new SemaphoreSlim(_options.MaxParallelism, _options.MaxParallelism);
        for (var slot = 0; slot < _options.MaxParallelism; slot++)
        {
            _freeSlots.Enqueue(slot);
        }

        _probe = new Lazy<Task<Probe>>(ProbeAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public SandboxOptions Options => _options;

    /// <summary>The isolation this machine allows. Throws when the sandbox cannot run at all.</summary>
    public async Task<SandboxIsolation> GetIsolationAsync()
    {
        var probe = await _probe.Value.ConfigureAwait(false);
        return probe.Isolation ?? throw new InvalidOperationException(probe.Error);
    }

    /// <summary>Runs <paramref name="program"/> as a Python module; waits for a free slot first.</summary>
    public async Task<SandboxResult> RunAsync(string program, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(program);
        var probe = await _probe.Value.ConfigureAwait(false);
        if (probe.Isolation is null)
        {
            return new SandboxResult(SandboxVerdict.SandboxError, probe.Error!, "", "", TimeSpan.Zero, null, null);
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!_freeSlots.TryDequeue(out var slot))
        {
            slot = 0;
        }

        try
        {
            return await RunInSlotAsync(program, slot, probe, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _freeSlots.Enqueue(slot);
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private async Task<SandboxResult> RunInSlotAsync(string program, int slot, Probe probe, CancellationToken cancellationToken)
    {
        var isolation = probe.Isolation!;
        var stopwatch = Stopwatch.StartNew();
        var root = Path.Combine(_options.TempRoot ?? Path.GetTempPath(), "shepherd-sbx-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(root);
            SetMode(root, (UnixFileMode)0b111_101_101);
            var programPath = Path.Combine(root, "program.py");
            var configPath = Path.Combine(root, "config.json");
            var reportPath = Path.Combine(root, "report.json");
            var work = Path.Combine(root, "work");
            await File.WriteAllTextAsync(programPath, program, new UTF8Encoding(false), cancellationToken).ConfigureAwait(false);
            SetMode(programPath, (UnixFileMode)0b110_100_100);
            var config = new Dictionary<string, object?>
            {
                ["program"] = programPath,
                ["work"] = work,
                ["report"] = reportPath,
                ["uid"] = isolation.UnprivilegedUid ? _options.BaseUid + slot : null,
                ["cpu_seconds"] = _options.CpuSeconds,
                ["memory_bytes"] = _options.MemoryBytes,
                ["max_processes"] = _options.MaxProcesses,
                ["max_file_bytes"] = _options.MaxFileBytes,
                ["wall_seconds"] = _options.WallTimeout.TotalSeconds,
                ["network_namespace"] = isolation.NetworkIsolation,
                ["pid_namespace"] = isolation.PidNamespace,
            };
            await File.WriteAllTextAsync(configPath, JsonSerializer.Serialize(config), cancellationToken).ConfigureAwait(false);

            var start = new ProcessStartInfo
            {
                FileName = probe.Launcher.Count > 0 ? "unshare" : isolation.PythonPath,
                WorkingDirectory = root,
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var argument in probe.Launcher)
            {
                start.ArgumentList.Add(argument);
            }

            if (probe.Launcher.Count > 0)
            {
                start.ArgumentList.Add(isolation.PythonPath);
            }

            foreach (var argument in new[] { "-I", "-B", "-c", Supervisor.Value, configPath })
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment.Clear();
            start.Environment["PATH"] = "/usr/local/bin:/usr/bin:/bin";
            start.Environment["LANG"] = "C.UTF-8";
            start.Environment["HOME"] = work;

            using var process = new Process { StartInfo = start };
            try
            {
                process.Start();
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                return Error($"could not start {start.FileName}: {e.Message}", stopwatch);
            }

            process.StandardInput.Close();
            var budget = new OutputBudget(_options.OutputLimitBytes, () => KillTree(process));
            var stdoutTask = budget.ReadAsync(process.StandardOutput.BaseStream);
            var stderrTask = budget.ReadAsync(process.StandardError.BaseStream);

            var hostTimeout = false;
            using (var backstop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                backstop.CancelAfter(_options.WallTimeout + HostGrace);
                try
                {
                    await process.WaitForExitAsync(backstop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    KillTree(process);
                    cancellationToken.ThrowIfCancellationRequested();
                    hostTimeout = true;
                    await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }

            // Without a PID namespace a daemonised grandchild may keep the pipes open: don't wait for it forever.
            var readers = Task.WhenAll(stdoutTask, stderrTask);
            if (await Task.WhenAny(readers, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None)).ConfigureAwait(false) != readers)
            {
                KillTree(process);
            }

            var stdout = budget.Text(stdoutTask);
            var stderr = budget.Text(stderrTask);
            var report = File.Exists(reportPath) ? await File.ReadAllTextAsync(reportPath, CancellationToken.None).ConfigureAwait(false) : null;
            var (verdict, cause, cpu) = Classify(report, budget.Exceeded, hostTimeout, process.ExitCode, stderr);
            return new SandboxResult(verdict, cause, stdout, stderr, stopwatch.Elapsed, cpu, isolation)
            {
                OutputTruncated = budget.Exceeded,
            };
        }
        catch (IOException e)
        {
            return Error($"sandbox I/O failed: {e.Message}", stopwatch);
        }
        catch (UnauthorizedAccessException e)
        {
            return Error($"sandbox I/O failed: {e.Message}", stopwatch);
        }
        finally
        {
            TryDelete(root);
        }

        SandboxResult Error(string cause, Stopwatch watch) =>
            new(SandboxVerdict.SandboxError, cause, "", "", watch.Elapsed, null, isolation);
    }

    private (SandboxVerdict Verdict, string Cause, double? Cpu) Classify(
        string? reportJson, bool outputExceeded, bool hostTimeout, int exitCode, string stderr)
    {
        if (outputExceeded)
        {
            return (SandboxVerdict.Crash, $"output limit exceeded: more than {_options.OutputLimitBytes} bytes on stdout+stderr; process tree killed", null);
        }

        if (reportJson is null)
        {
            if (hostTimeout)
            {
                return (SandboxVerdict.Timeout, $"wall-clock limit of {_options.WallTimeout.TotalSeconds:0.###} s exceeded; supervisor unresponsive, process tree killed by the host", null);
            }

            var tail = LastLine(stderr);
            return (SandboxVerdict.SandboxError, $"sandbox supervisor ended (exit code {exitCode}) without a report{(tail.Length > 0 ? ": " + tail : "")}", null);
        }

        Report report;
        try
        {
            report = Report.Parse(reportJson);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return (SandboxVerdict.SandboxError, $"unreadable sandbox report: {e.Message}", null);
        }

        var cpu = report.CpuSeconds;
        if (report.TimedOut)
        {
            return (SandboxVerdict.Timeout, $"wall-clock limit of {_options.WallTimeout.TotalSeconds:0.###} s exceeded; process tree killed", cpu);
        }

        if (report.Signal is { } signal)
        {
            if (signal == SigXcpu || (signal == SigKill && cpu >= _options.CpuSeconds))
            {
                return (SandboxVerdict.Timeout, $"CPU-time limit of {_options.CpuSeconds} s exceeded ({SignalName(signal)})", cpu);
            }

            if (signal == SigXfsz)
            {
                return (SandboxVerdict.Crash, $"file-size limit of {_options.MaxFileBytes} bytes exceeded (SIGXFSZ)", cpu);
            }

            return (SandboxVerdict.Crash, $"killed by signal {signal} ({SignalName(signal)})", cpu);
        }

        switch (report.ChildOutcome)
        {
            case "completed" when report.ExitCode == 0:
                return (SandboxVerdict.Pass, "ran to the end without an exception", cpu);
            case "memory":
                return (SandboxVerdict.Memory, $"MemoryError: allocation beyond the {_options.MemoryBytes >> 20} MiB address-space limit", cpu);
            case "exception":
                return (SandboxVerdict.Fail, string.IsNullOrEmpty(report.ChildMessage)
                    ? report.ChildType!
                    : $"{report.ChildType}: {OneLine(report.ChildMessage)}", cpu);
            case "exit":
                return (SandboxVerdict.Fail, $"program called exit({report.ChildMessage}) before its end", cpu);
            case "setup":
                return (SandboxVerdict.SandboxError, $"sandbox setup failed in the child: {report.ChildMessage}", cpu);
            case null when report.ExitCode == 0:
                return (SandboxVerdict.Fail, "program left through os._exit(0) before its end", cpu);
            default:
                return (SandboxVerdict.Crash, $"program process ended with exit code {report.ExitCode} without reporting an outcome", cpu);
        }
    }

    private static string SignalName(int signal) => signal switch
    {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => "signal " + signal,
    };

    private static string OneLine(string text)
    {
        var line = text.ReplaceLineEndings(" ").Trim();
        return line.Length <= 300 ? line : line[..300] + "…";
    }

    private static string LastLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "" : OneLine(lines[^1]);
    }

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Already gone, or a descendant vanished while the tree was walked.
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless; the verdict matters more.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string LoadSupervisor()
    {
        using var stream = typeof(PythonSandbox).Assembly.GetManifestResourceStream(SupervisorResource)
            ?? throw new InvalidOperationException($"Embedded resource {SupervisorResource} is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private async Task<Probe> ProbeAsync()
    {
        var candidates = new List<string>();
        if (_options.PythonPath is not null)
        {
            if (!File.Exists(_options.PythonPath))
            {
                return Probe.Failed($"python3 not found at {_options.PythonPath}");
            }

            candidates.Add(_options.PythonPath);
        }
        else
        {
            var found = await RunToolAsync("python3", ["-c", "import sys; print(sys.executable)"], inheritEnvironment: true).ConfigureAwait(false);
            if (found.ExitCode == 0 && found.Stdout.Trim().Length > 0)
            {
                candidates.Add(found.Stdout.Trim());
            }

            // A python under /root (pyenv) cannot import its standard library once the program runs under an
            // unprivileged uid; the distribution's python usually can.
            if (File.Exists(SystemPython) && !candidates.Contains(SystemPython))
            {
                candidates.Add(SystemPython);
            }

            if (candidates.Count == 0)
            {
                return Probe.Failed($"python3 not found on PATH ({found.Error.Trim()})");
            }
        }

        var id = await RunToolAsync("id", ["-u"], inheritEnvironment: false).ConfigureAwait(false);
        var root = id.ExitCode == 0 && id.Stdout.Trim() == "0";

        IReadOnlyList<string> launcher = [];
        var namespaces = false;
        if (_options.UseNamespaces)
        {
            string[] check = [.. NamespaceArguments, candidates[0], "-I", "-c", "pass"];
            if ((await RunToolAsync("unshare", check, inheritEnvironment: false).ConfigureAwait(false)).ExitCode == 0)
            {
                (launcher, namespaces) = (NamespaceArguments, true);
            }
            else if (!root)
            {
                // Unprivileged user namespaces give an ordinary user the same network and PID isolation.
                string[] user = ["--user", "--map-root-user", .. NamespaceArguments];
                if ((await RunToolAsync("unshare", [.. user, candidates[0], "-I", "-c", "pass"], inheritEnvironment: false).ConfigureAwait(false)).ExitCode == 0)
                {
                    (launcher, namespaces) = (user, true);
                }
            }
        }

        // The real check: run the standard-library imports the benchmarks use inside the sandbox itself.
        var failures = new List<string>();
        foreach (var dropUid in root ? new[] { true, false } : [false])
        {
            foreach (var python in candidates)
            {
                var probe = new Probe(new SandboxIsolation(namespaces, namespaces, dropUid, python), launcher, null);
                var result = await RunInSlotAsync(ProbeProgram, 0, probe, CancellationToken.None).ConfigureAwait(false);
                if (result.Verdict == SandboxVerdict.Pass)
                {
                    return probe;
                }

                failures.Add($"{python} (unprivileged uid: {dropUid}): {result.Verdict} {result.Cause}");
            }
        }

        return Probe.Failed("no python3 runs in the sandbox: " + string.Join("; ", failures));
    }

    private static async Task<(int ExitCode, string Stdout, string Error)> RunToolAsync(
        string fileName, IReadOnlyList<string> arguments, bool inheritEnvironment)
    {
        var start = new ProcessStartInfo
        {
            FileName = fileName,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (!inheritEnvironment)
        {
            start.Environment.Clear();
            start.Environment["PATH"] = "/usr/local/bin:/usr/bin:/bin";
        }

        try
        {
            using var process = Process.Start(start)!;
            using var timeout = new CancellationTokenSource(ProbeTimeout);
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or OperationCanceledException or InvalidOperationException)
        {
            return (-1, "", e.Message);
        }
    }

    private sealed record Probe(SandboxIsolation? Isolation, IReadOnlyList<string> Launcher, string? Error)
    {
        public static Probe Failed(string error) => new(null, [], error);
    }

    private sealed record Report(bool TimedOut, int? ExitCode, int? Signal, double CpuSeconds, string? ChildOutcome, string? ChildType, string? ChildMessage)
    {
        public static Report Parse(string json)
        {
            using var document = JsonDocument.Parse(json);
            var r = document.RootElement;
            string? outcome = null, type = null, message = null;
            if (r.GetProperty("child") is { ValueKind: JsonValueKind.Object } child)
            {
                outcome = child.TryGetProperty("outcome", out var o) ? o.GetString() : null;
                type = child.TryGetProperty("type", out var t) ? t.GetString() : null;
                message = child.TryGetProperty("message", out var m) ? m.GetString()
                    : child.TryGetProperty("code", out var c) ? c.GetString() : null;
            }

            return new Report(
                r.GetProperty("timed_out").GetBoolean(),
                r.GetProperty("exit_code") is { ValueKind: JsonValueKind.Number } e ? e.GetInt32() : null,
                r.GetProperty("signal") is { ValueKind: JsonValueKind.Number } s ? s.GetInt32() : null,
                r.GetProperty("cpu_seconds").GetDouble(),
                outcome,
                type,
                message);
        }
    }

    /// <summary>Shared cap on stdout + stderr; calls <c>onExceeded</c> once when it is passed.</summary>
    private sealed class OutputBudget(int limit, Action onExceeded)
    {
        private int _used;
        private int _exceeded;

        public bool Exceeded => Volatile.Read(ref _exceeded) == 1;

        public async Task<MemoryStream> ReadAsync(Stream stream)
        {
            var sink = new MemoryStream();
            var buffer = new byte[16384];
            try
            {
                int read;
                while ((read = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                {
                    var total = Interlocked.Add(ref _used, read);
                    var keep = Math.Min(read, Math.Max(0, limit - (total - read)));
                    sink.Write(buffer, 0, keep);
                    if (total > limit)
                    {
                        if (Interlocked.Exchange(ref _exceeded, 1) == 0)
                        {
                            onExceeded();
                        }

                        break;
                    }
                }
            }
            catch (IOException)
            {
                // The pipe broke when the tree was killed.
            }
            catch (ObjectDisposedException)
            {
            }

            return sink;
        }

        public string Text(Task<MemoryStream> reader) =>
            reader.IsCompletedSuccessfully ? Encoding.UTF8.GetString(reader.Result.GetBuffer(), 0, (int)reader.Result.Length) : "";
    }
}
