using Shepherd.Core.Sandbox;

namespace Shepherd.Core.Tests.Sandbox;

public sealed class SandboxAttackTests : IClassFixture<SandboxFixture>
{
    private readonly PythonSandbox _sandbox;

    public SandboxAttackTests(SandboxFixture fixture) => _sandbox = fixture.Sandbox;

    [Fact]
    public async Task PassingProgramPasses()
    {
        var result = await _sandbox.RunAsync("x = sum(range(10))\nassert x == 45\nprint('done')\n");

        Assert.Equal(SandboxVerdict.Pass, result.Verdict);
        Assert.Contains("done", result.Stdout);
    }

    [Fact]
    public async Task FailedAssertIsReportedAsFailWithTheException()
    {
        var result = await _sandbox.RunAsync("assert 1 + 1 == 3, 'arithmetic'\n");

        Assert.Equal(SandboxVerdict.Fail, result.Verdict);
        Assert.Equal("AssertionError: arithmetic", result.Cause);
    }

    [Fact]
    public async Task SyntaxErrorIsAFail()
    {
        var result = await _sandbox.RunAsync("def f(:\n    pass\n");

        Assert.Equal(SandboxVerdict.Fail, result.Verdict);
        Assert.StartsWith("SyntaxError", result.Cause);
    }

    [Fact]
    public async Task ExitBeforeTheEndIsAFailNotAPass()
    {
        var viaSysExit = await _sandbox.RunAsync("import sys\nsys.exit(0)\nassert False\n");
        var viaOsExit = await _sandbox.RunAsync("import os\nos._exit(0)\nassert False\n");

        Assert.Equal(SandboxVerdict.Fail, viaSysExit.Verdict);
        Assert.Contains("exit(0)", viaSysExit.Cause);
        Assert.Equal(SandboxVerdict.Fail, viaOsExit.Verdict);
        Assert.Contains("os._exit", viaOsExit.Cause);
    }

    [Fact]
    public async Task BusyInfiniteLoopHitsTheCpuLimit()
    {
        // A generous wall limit: even on a loaded machine the 1 s of CPU comes first.
        using var sandbox = new PythonSandbox(new SandboxOptions { WallTimeout = TimeSpan.FromSeconds(60), CpuSeconds = 1 });

        var result = await sandbox.RunAsync("while True:\n    pass\n");

        Assert.Equal(SandboxVerdict.Timeout, result.Verdict);
        Assert.Contains("CPU-time limit of 1 s exceeded", result.Cause);
    }

    [Fact]
    public async Task SleepingForeverHitsTheWallClockLimit()
    {
        using var sandbox = new PythonSandbox(new SandboxOptions { WallTimeout = TimeSpan.FromSeconds(2), CpuSeconds = 1 });

        var result = await sandbox.RunAsync("import time\ntime.sleep(3600)\n");

        Assert.Equal(SandboxVerdict.Timeout, result.Verdict);
        Assert.Contains("wall-clock limit of 2 s exceeded", result.Cause);
        Assert.True(result.Elapsed >= TimeSpan.FromSeconds(2), $"took {result.Elapsed}: ended before its wall-clock limit");
    }

    [Fact]
    public async Task ForkBombIsContainedAndLeavesNoProcessBehind()
    {
        // Its own uid range, so processes of sandboxes in concurrently running tests are not counted.
        using var sandbox = new PythonSandbox(new SandboxOptions { WallTimeout = TimeSpan.FromSeconds(3), CpuSeconds = 2, BaseUid = 62000, MaxParallelism = 1 });
        var isolation = await sandbox.GetIsolationAsync();
        Skip.IfNot(isolation.PidNamespace || isolation.UnprivilegedUid, "neither a PID namespace nor a uid drop is permitted here");

        var result = await sandbox.RunAsync("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n");

        Assert.Equal(SandboxVerdict.Timeout, result.Verdict);
        // SIGKILLed processes take a moment to be reaped; none may remain after that.
        var deadline = DateTime.UtcNow.AddSeconds(3);
        while (CountProcessesOfUid(sandbox.Options.BaseUid) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(0, CountProcessesOfUid(sandbox.Options.BaseUid));
        // The machine still forks: a fresh run passes.
        Assert.Equal(SandboxVerdict.Pass, (await sandbox.RunAsync("import os\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)\n")).Verdict);
    }

    [Fact]
    public async Task AllocatingTenGigabytesIsAMemoryVerdict()
    {
        var result = await _sandbox.RunAsync("block = bytearray(10 * 1024 ** 3)\nprint(len(block))\n");

        Assert.Equal(SandboxVerdict.Memory, result.Verdict);
        Assert.Contains("MemoryError", result.Cause);
    }

    [Fact]
    public async Task SocketToLoopbackIsRefused()
    {
        var isolation = await _sandbox.GetIsolationAsync();

        var result = await _sandbox.RunAsync(
            "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\ns.settimeout(2)\ns.connect(('127.0.0.1', 22))\nprint('connected')\n");

        Assert.Equal(SandboxVerdict.Fail, result.Verdict);
        Assert.DoesNotContain("connected", result.Stdout);
        Assert.Equal(isolation.NetworkIsolation, result.NetworkIsolation);
        Assert.Contains(isolation.NetworkIsolation ? "Network is unreachable" : "PermissionError", result.Cause);
    }

    [Fact]
    public async Task PlantedSecretInTheEnvironmentDoesNotReachTheProgram()
    {
        const string Variable = "SHEPHERD_TEST_FAKE_API_KEY";
        Environment.SetEnvironmentVariable(Variable, "sk-fake-0123456789");
        try
        {
            var result = await _sandbox.RunAsync(
                $"import os\nprint(sorted(os.environ))\nassert os.environ.get('{Variable}') is None, 'leaked'\n");

            Assert.Equal(SandboxVerdict.Pass, result.Verdict);
            Assert.DoesNotContain("sk-fake", result.Stdout);
            Assert.Contains("['HOME', 'LANG', 'PATH']", result.Stdout);
        }
        finally
        {
            Environment.SetEnvironmentVariable(Variable, null);
        }
    }

    [Fact]
    public async Task WritingOutsideTheWorkDirectoryIsRefused()
    {
        var target = Path.Combine(Path.GetTempPath(), "shepherd-sandbox-escape-" + Guid.NewGuid().ToString("N"));

        var result = await _sandbox.RunAsync(
            $"open('inside.txt', 'w').write('ok')\nopen({Quote(target)}, 'w').write('escaped')\n");

        Assert.Equal(SandboxVerdict.Fail, result.Verdict);
        Assert.StartsWith("PermissionError", result.Cause);
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task WritingThroughOsLevelCallsOutsideIsRefused()
    {
        var target = Path.Combine(Path.GetTempPath(), "shepherd-sandbox-escape-" + Guid.NewGuid().ToString("N"));

        var result = await _sandbox.RunAsync(
            $"import os\nfd = os.open({Quote(target)}, os.O_CREAT | os.O_WRONLY)\nos.write(fd, b'x')\n");

        Assert.Equal(SandboxVerdict.Fail, result.Verdict);
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task PrintingOneHundredMegabytesIsCutAtTheCap()
    {
        var result = await _sandbox.RunAsync("import sys\nchunk = 'x' * 1048576\nfor _ in range(100):\n    sys.stdout.write(chunk)\n");

        Assert.Equal(SandboxVerdict.Crash, result.Verdict);
        Assert.Contains("output limit exceeded", result.Cause);
        Assert.True(result.OutputTruncated);
        Assert.True(result.Stdout.Length <= _sandbox.Options.OutputLimitBytes);
    }

    [Fact]
    public async Task KillingTheParentDoesNotKillTheSandbox()
    {
        var result = await _sandbox.RunAsync("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('survived')\n");

        Assert.NotEqual(SandboxVerdict.Pass, result.Verdict);
        Assert.NotEqual(SandboxVerdict.SandboxError, result.Verdict);
        Assert.Equal(SandboxVerdict.Pass, (await _sandbox.RunAsync("pass\n")).Verdict);
    }

    [Fact]
    public async Task SegmentationFaultIsACrash()
    {
        var result = await _sandbox.RunAsync("import ctypes\nctypes.string_at(0)\n");

        Assert.Equal(SandboxVerdict.Crash, result.Verdict);
        Assert.Contains("SIGSEGV", result.Cause);
    }

    [Fact]
    public async Task RunsInParallelUpToTheLimit()
    {
        using var sandbox = new PythonSandbox(new SandboxOptions { MaxParallelism = 2 });
        var runs = Enumerable.Range(0, 6).Select(i => sandbox.RunAsync($"import time\ntime.sleep(0.3)\nprint({i})\n")).ToArray();

        var results = await Task.WhenAll(runs);

        Assert.All(results, r => Assert.Equal(SandboxVerdict.Pass, r.Verdict));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => i.ToString()), results.Select(r => r.Stdout.Trim()));
    }

    [Fact]
    public async Task MissingPythonIsASandboxError()
    {
        using var sandbox = new PythonSandbox(new SandboxOptions { PythonPath = "/nonexistent/python3" });

        var result = await sandbox.RunAsync("pass\n");

        Assert.Equal(SandboxVerdict.SandboxError, result.Verdict);
        Assert.Contains("python3 not found", result.Cause);
    }

    private static string Quote(string text) => "'" + text.Replace("\\", "\\\\").Replace("'", "\\'") + "'";

    private static int CountProcessesOfUid(int baseUid)
    {
        var count = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var status = File.ReadAllLines(Path.Combine(dir, "status"));
                var uidLine = status.FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
                if (uidLine is not null && int.TryParse(uidLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], out var uid)
                    && uid == baseUid)
                {
                    count++;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return count;
    }
}
