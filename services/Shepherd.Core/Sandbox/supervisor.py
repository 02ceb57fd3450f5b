# Shepherd sandbox supervisor (embedded in Shepherd.Core, run by PythonSandbox).
#
# Runs as root, normally as PID 1 of fresh PID and network namespaces made by `unshare`. It forks one
# child that sets the resource limits, drops to an unprivileged uid, enters the work directory and
# executes the program. The supervisor alone writes the report file, in a directory the child cannot
# write, so the program cannot forge its own verdict through the report.
#
# argv[1]: path of a JSON config written by PythonSandbox.
import json
import os
import resource
import signal
import sys
import time
import traceback
import types


def kill_everything(child_pid, pid_namespace):
    # As PID 1 of our own PID namespace, kill(-1) reaches exactly the processes of this namespace:
    # fork-bomb remnants and daemons that left the child's session die too. Outside a namespace
    # kill(-1) would hit the whole machine, so there we only kill the child's process group.
    if pid_namespace and os.getpid() == 1:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.killpg(child_pid, signal.SIGKILL)
    except OSError:
        pass


def install_guards(work, block_network):
    sep = os.sep
    null = os.devnull
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    abspath = os.path.abspath
    fsdecode = os.fsdecode

    def inside(path):
        if isinstance(path, int) or path is None:
            return True
        try:
            full = abspath(fsdecode(path))
        except Exception:
            return False
        return full == work or full.startswith(work + sep) or full == null

    def deny(what, path):
        raise PermissionError("sandbox: %s outside the work directory is not allowed: %r" % (what, path))

    one_path = {"os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate", "os.utime",
                "os.mkfifo", "os.mknod", "os.chflags", "os.lchflags", "shutil.rmtree"}
    two_paths = {"os.rename", "os.link", "os.symlink", "shutil.copyfile", "shutil.copytree", "shutil.move"}
    network = {"socket.__new__", "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
               "socket.getaddrinfo", "socket.gethostbyname", "subprocess.Popen", "os.exec", "os.posix_spawn",
               "os.spawn", "os.system"}

    def hook(event, args):
        if event == "open":
            path = args[0]
            mode = args[1] if len(args) > 1 else None
            flags = args[2] if len(args) > 2 else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                      (isinstance(flags, int) and flags & write_flags)
            if writing and not inside(path):
                deny("writing", path)
        elif event in one_path:
            if not inside(args[0]):
                deny(event, args[0])
        elif event in two_paths:
            for path in args[:2]:
                if not inside(path):
                    deny(event, path)
        elif block_network and event in network:
            raise PermissionError("sandbox: %s is blocked (no network namespace available)" % event)

    sys.addaudithook(hook)


def run_child(cfg, source, status_fd):
    # Everything before exec() is the sandbox's business: a failure here is a sandbox error.
    try:
        os.setsid()
        cpu = int(cfg["cpu_seconds"])
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (cfg["memory_bytes"], cfg["memory_bytes"]))
        resource.setrlimit(resource.RLIMIT_NPROC, (cfg["max_processes"], cfg["max_processes"]))
        resource.setrlimit(resource.RLIMIT_FSIZE, (cfg["max_file_bytes"], cfg["max_file_bytes"]))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        uid = cfg.get("uid")
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        os.chdir(cfg["work"])
        install_guards(cfg["work"], not cfg["network_namespace"])
        module = types.ModuleType("__sandbox__")
        module.__file__ = cfg["program"]
        sys.modules["__sandbox__"] = module
        sys.argv = [cfg["program"]]
    except BaseException as e:  # noqa: B902
        os.write(status_fd, json.dumps({"outcome": "setup", "message": repr(e)[:2000]}).encode())
        os._exit(70)

    outcome = {"outcome": "completed"}
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    except MemoryError:
        outcome = {"outcome": "memory"}
        sys.stderr.write("MemoryError\n")
    except SystemExit as e:
        outcome = {"outcome": "exit", "code": repr(e.code)[:200]}
    except BaseException as e:  # noqa: B902
        try:
            # Skip the supervisor's own frame: the traceback starts in the program.
            traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        except BaseException:  # noqa: B902
            pass
        outcome = {"outcome": "exception", "type": type(e).__name__, "message": str(e)[:2000]}
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: B902
            pass
    try:
        os.write(status_fd, json.dumps(outcome).encode()[:60000])
    except BaseException:  # noqa: B902
        pass
    os._exit(0 if outcome["outcome"] == "completed" else 1)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cfg = json.load(f)
    with open(cfg["program"], encoding="utf-8") as f:
        source = f.read()
    os.mkdir(cfg["work"], 0o700)
    if cfg.get("uid") is not None:
        os.chown(cfg["work"], cfg["uid"], cfg["uid"])

    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        run_child(cfg, source, write_fd)
    os.close(write_fd)

    timed_out = [False]

    def on_alarm(signum, frame):
        timed_out[0] = True
        kill_everything(pid, cfg["pid_namespace"])

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(cfg["wall_seconds"]))
    _, status, usage = os.wait4(pid, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    elapsed = time.monotonic() - started
    kill_everything(pid, cfg["pid_namespace"])

    # The status pipe is read only after the child is gone; grandchildren may hold it open forever.
    os.set_blocking(read_fd, False)
    try:
        message = os.read(read_fd, 65536)
    except BlockingIOError:
        message = b""
    try:
        child = json.loads(message.decode("utf-8", "replace")) if message else None
    except ValueError:
        child = {"outcome": "garbled", "message": message[:200].decode("utf-8", "replace")}

    report = {
        "timed_out": timed_out[0],
        "exited": os.WIFEXITED(status),
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "max_rss_kb": usage.ru_maxrss,
        "elapsed_seconds": elapsed,
        "child": child,
    }
    tmp = cfg["report"] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(report, f)
    os.replace(tmp, cfg["report"])


main()
