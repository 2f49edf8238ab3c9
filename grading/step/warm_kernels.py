"""Warm kernels: every autograding kernel forked from a pre-imported process, fully isolated.

A cold kernel (grading/step/sandbox.py) pays, per notebook, bwrap, a fresh Python, ipykernel's imports
and then the notebook's own imports (numpy, matplotlib, ipywidgets); ``make bench SECTIONS=speed``
prints what that costs cold and warm (docs/sandbox.md has a run). Here each grading process
starts, once, a **warm process**
(grading/step/warm_zygote.py) inside a bwrap box built from the same allow-list as a cold kernel's; it
imports IPython, ipykernel, numpy, matplotlib (agg) and ipywidgets and then forks one fresh child
per notebook, which serves the ordinary Jupyter kernel protocol over the same unix sockets in the
same box: nbclient, nbgrader's Execute and the test channel see a normal kernel.

**What a child has of its own, as a cold kernel has** (each set up in the child before any of its
code runs; warm_zygote.py lists the steps): the kernel's cgroup (memory+tmpfs and pids bounds,
joined first) or the watchdog; its own mount, network (loopback only), IPC, UTS and PID
namespaces; fresh tmpfs on /tmp, /run and /dev/shm, its own /dev/pts and /proc, and a private
matplotlib config folder holding the font list;
only this kernel's graded folder (read-only, the cwd) and box of the host; the sandbox's uid and
group, no supplementary groups, no capabilities (bounding set empty), no new privileges; the
same rlimits; a new session; a parent-death signal; stdin/out/err on /dev/null and no other open
descriptor; the kernel's environment (``sandbox.kernel_environment``, nothing of the grader's);
Python's and numpy's random generators reseeded from the OS; a new IPython shell.

**What a child inherits from the warm process, and why each is safe**:

- its memory, copy-on-write: modules imported by trusted code before any student code ran, no
  secret (the warm process never reads the course, a gradebook or a submission), and the child's
  writes are private to it. cgroup v1 charges a page to the cgroup that first touched it, so the
  imported modules' pages stay charged to the grader's cgroup, not the kernel's: a kernel's
  budget covers what it allocates or writes, which is what a student can grow.
- its environment variables: the kernel's own (the warm process starts with ``env -i``).
- its address-space layout (ASLR is per exec) and its string-hash seed: not secret, and the
  kernel runs the student's code anyway; grades do not depend on either.
- nothing of one student to the next: children are forked from the warm process, never from
  one another, and one child's processes are killed with its cgroup (or its tree) before the next.

The warm process itself runs as root inside its box (it needs to mount and drop privileges for
its children), never runs student code, has no thread when it forks (checked per fork:
OPENBLAS_NUM_THREADS=1 starts none), reads requests only from its grading process over a socket
pair (no path), and sees the host's tree read-only at ``/.host``, which each child detaches (and
checks is gone) before it forks the kernel. It dies with its grading process.

A kernel can start warm when its argv is ``python -m ipykernel_launcher`` of this Python, its box
is under /tmp and its graded folder under /tmp or in a folder of students' graded folders (the
course's ``autograded/``, over which the child mounts a private tmpfs). Otherwise, or if the warm
process cannot start, the kernel starts cold, with a warning. ``c.Sandbox.warm_start = False``
(``GRADING_WARM_START=0``) starts every kernel cold.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import typing
from collections.abc import Iterable
from queue import Empty
from typing import IO, Any

from jupyter_client.asynchronous import AsyncKernelClient

from grading.step import program_source
from grading.step.sandbox import (
    SANDBOX_MPLCONFIGDIR,
    SandboxKernelManager,
    _etc_entries,
    _parents,
    _python_dirs,
    _root_entries,
    font_cache,
    kernel_environment,
    make_box,
)

_ZYGOTE_SOURCE = program_source("warm_zygote.py")
START_SECONDS = 120.0  # the warm process's imports, on a loaded machine
FORK_SECONDS = 60.0
KILL_SECONDS = 2.0


class WarmStartError(RuntimeError):
    """The warm process could not start, or could not start this kernel."""


def rlimits(options: Iterable[str]) -> dict[str, tuple[int, int]]:
    """The sandbox's per-process limits, prlimit's options (``--as=4294967296``, ``--core=0:0``),
    as {resource name: (soft, hard)} for ``resource.setrlimit``."""
    import resource
    found: dict[str, tuple[int, int]] = {}
    for option in options:
        name, _, value = option.partition("=")
        resource_name = "RLIMIT_" + name.lstrip("-").upper()
        soft, _, hard = value.partition(":")
        if not hasattr(resource, resource_name) or not soft.isdigit() or not (hard or soft).isdigit():
            raise WarmStartError(f"a limit the warm start cannot set: {option}")
        found[resource_name] = (int(soft), int(hard or soft))
    return found


class WarmProcess:
    """The kernel started by the warm process, as jupyter_client's provisioner sees a Popen: the
    waiter (outside the kernel's PID namespace, ``pid``) and the namespace's init (``kernel_pid``,
    which ends when the kernel does, ending the namespace), each followed through a pidfd
    (neither is the grader's child)."""

    stdin = stdout = stderr = None

    def __init__(self, waiter: int, kernel: int) -> None:
        self.pid, self.kernel_pid = waiter, kernel
        self.returncode: int | None = None
        self._fds: list[int] = []
        for pid in (kernel, waiter):
            try:
                self._fds.append(os.pidfd_open(pid))
            except ProcessLookupError:
                self.returncode = 1

    def poll(self) -> int | None:
        if self.returncode is None and self._fds and select.select(self._fds[:1], [], [], 0)[0]:
            self.returncode = 1  # the kernel ended (its exit status belongs to its waiter)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("warm kernel", typing.cast(float, timeout))
            time.sleep(0.01)
        self.close()
        return self.returncode

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def send_signal(self, signum: int) -> None:
        for fd in self._fds:
            try:
                signal.pidfd_send_signal(fd, signum)
            except OSError:
                pass
        if signum == signal.SIGKILL and self._fds:
            # killed kernels go at once: waiting here spares jupyter_client's 0.1 s polling sleep
            select.select(self._fds[:1], [], [], KILL_SECONDS)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []


def _python_and_places(places: Iterable[str]) -> list[str]:
    """bwrap arguments: the Python environment read-only, and ``places`` as empty folders (the
    folders leading to each passable, not listable)."""
    cmd: list[str] = []
    made = {"/usr", "/tmp", "/run", "/dev", "/proc", "/etc"}
    for kind, path in [("--ro-bind", p) for p in _python_dirs()] + [("--dir", p) for p in sorted(places)]:
        for parent in _parents(path) + ([path] if kind == "--dir" else []):
            if parent not in made:
                made.add(parent)
                cmd += ["--perms", "0711", "--dir", parent]
        if kind == "--ro-bind":
            cmd += [kind, path, path]
    return cmd


def zygote_command(box: str, places: Iterable[str], fonts: str | None, fd: int) -> list[str]:
    """The bwrap command of the warm process: the cold kernel's allow-list root (no kernel's
    folder yet), ``places`` made as empty folders, the host's tree read-only at /.host, no
    network; root inside (its children drop), killed with the grading process."""
    cmd = ["bwrap", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session"]
    cmd += _root_entries()
    for path in ("/tmp", "/run"):
        cmd += ["--perms", "1777", "--tmpfs", path]
    cmd += ["--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm", "--proc", "/proc"]
    cmd += _etc_entries(box)
    cmd += _python_and_places(places)
    cmd += ["--perms", "1777", "--dir", SANDBOX_MPLCONFIGDIR]
    if fonts:
        cmd += ["--ro-bind", fonts, os.path.join(SANDBOX_MPLCONFIGDIR, os.path.basename(fonts))]
    cmd += ["--ro-bind", "/", "/.host", "--chdir", "/"]
    env = kernel_environment()
    cmd += ["env", "-i"] + [f"{k}={v}" for k, v in env.items()] + [sys.executable, "-c", _ZYGOTE_SOURCE, str(fd)]
    return cmd


def _read_line(sock: socket.socket, seconds: float) -> dict[str, Any]:
    """One JSON line from the warm process, within ``seconds``."""
    sock.settimeout(seconds)
    data = b""
    try:
        while not data.endswith(b"\n"):
            chunk = sock.recv(1 << 16)
            if not chunk:
                raise WarmStartError("the warm process ended")
            data += chunk
    except TimeoutError:
        raise WarmStartError(f"the warm process did not answer within {seconds:.0f} s") from None
    return json.loads(data)


class _Forker:
    """The one thread of this process that forks warm processes. bwrap's ``--die-with-parent`` is
    the kernel's parent-death signal, which fires when the *thread* that forked ends, not the
    process: a warm process forked by a short-lived thread (a thread pool's, an ``asyncio.run`` in a
    thread) would be killed with it, and the next kernel would find it dying. This thread lives as
    long as the grading process, so the warm process does too."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[concurrent.futures.Future[subprocess.Popen[bytes]], tuple[Any, ...],
                                                dict[str, Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def popen(self, *args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="warm-process-forker", daemon=True)
                self._thread.start()
        done: concurrent.futures.Future[subprocess.Popen[bytes]] = concurrent.futures.Future()
        self._requests.put((done, args, kwargs))
        return done.result()

    def _serve(self) -> None:
        while True:
            done, args, kwargs = self._requests.get()
            try:
                done.set_result(subprocess.Popen(*args, **kwargs))
            except BaseException as err:  # noqa: B036 (raised again in the caller's thread)
                done.set_exception(err)


_FORKER = _Forker()


class Zygote:
    """One warm process: started by ``start()``, forks a kernel per ``spawn()``."""

    def __init__(self, user: tuple[int, int], places: Iterable[str], fonts: str | None) -> None:
        self.user, self.places, self.fonts = user, frozenset(places), fonts
        self.box: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.pid: int | None = None
        self.log: IO[bytes] | None = None

    def start(self) -> Zygote:
        self.box = make_box(*self.user)  # its /etc/passwd and group: the kernels' user
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.log = tempfile.TemporaryFile()  # its stderr (a pipe nobody reads could fill and block it)
        try:
            self.process = _FORKER.popen(zygote_command(self.box, self.places, self.fonts, theirs.fileno()),
                                        pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=self.log)
        finally:
            theirs.close()
        self.sock = ours
        try:
            ready = _read_line(ours, START_SECONDS)
        except WarmStartError as err:
            message = self._stderr()
            self.close()
            raise WarmStartError(f"{err}: {message}") from None
        self.pid = ready.get("pid")
        if ready.get("threads") != 1:
            self.close()
            raise WarmStartError(f"the warm process has {ready.get('threads')} threads, not 1")
        return self

    def _stderr(self) -> str:
        assert self.process is not None and self.log is not None  # started
        try:
            self.process.wait(timeout=5)
            self.log.seek(0)
            return (self.log.read().decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        except (subprocess.TimeoutExpired, OSError, ValueError):
            return "no message"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self, request: dict[str, Any], fds: Iterable[int]) -> tuple[int, int]:
        """Fork a kernel for ``request`` (the child joins the cgroups whose ``cgroup.procs`` are
        ``fds``); (waiter pid, kernel pid)."""
        assert self.sock is not None, "spawn() before start()"
        try:
            socket.send_fds(self.sock, [json.dumps(request).encode() + b"\n"], list(fds))
            reply = _read_line(self.sock, FORK_SECONDS)
        except (OSError, WarmStartError, ValueError) as err:
            self.close()  # a late answer must not be read as the next one; its children die with it
            raise WarmStartError(f"the warm process failed: {err}") from None
        if "error" in reply:
            raise WarmStartError(reply["error"])
        return reply["waiter"], reply["kernel"]

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.log is not None:
            self.log.close()
        if self.box:
            import shutil
            shutil.rmtree(self.box, ignore_errors=True)


_ZYGOTES: dict[tuple[tuple[int, int], str | None], Zygote] = {}  # this process's warm process per (user, fonts)
_LOCK = threading.Lock()


def zygote_for(user: tuple[int, int], place: str | None, fonts: str | None) -> Zygote:
    """This process's warm process for kernels of ``user`` whose graded folders are in ``place``
    (None: under /tmp); started, or restarted with ``place`` added, when needed."""
    key = (user, fonts)
    with _LOCK:
        zygote = _ZYGOTES.get(key)
        places = set(zygote.places) if zygote is not None else set()
        if zygote is not None and zygote.alive() and (place is None or place in places):
            return zygote
        if zygote is not None:
            zygote.close()
            del _ZYGOTES[key]
        if place is not None:
            places.add(place)
        _ZYGOTES[key] = Zygote(user, places, fonts).start()
        return _ZYGOTES[key]


def close_all() -> None:
    with _LOCK:
        for zygote in _ZYGOTES.values():
            zygote.close()
        _ZYGOTES.clear()


def _under(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


def kernel_place(workdir: str) -> str | None:
    """Where the child mounts a private tmpfs to hold ``workdir``: None under /tmp (its /tmp is
    private already), else the folder of students' graded folders (``<course>/autograded`` for
    ``<course>/autograded/<student>/<assignment>``). Raises WarmStartError for a folder that
    would hide something a kernel needs."""
    if _under(workdir, "/tmp"):
        return None
    place = os.path.dirname(os.path.dirname(workdir))
    needed = ["/usr", "/bin", "/lib", "/etc", "/dev", "/proc", "/run", *_python_dirs()]
    if place in ("/", "") or any(n == place or _under(n, place) or _under(place, n) for n in needed):
        raise WarmStartError(f"{workdir} is not in a folder of graded submissions the kernel can be given alone")
    return place


class ReadyClient(AsyncKernelClient):
    """jupyter_client's client, whose ``wait_for_ready`` stops draining iopub once the kernel's
    "idle" for the kernel_info request has come, instead of after 0.2 s with no message (an idle
    core per kernel). Ready means the same: a kernel_info reply, and iopub delivering."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (60.0 if timeout is None else timeout)
        asked: set[str] = set()
        while True:
            asked.add(self.kernel_info())
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                if await self._iopub_idle(asked, deadline=time.monotonic() + 1.0):
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    async def _iopub_idle(self, asked: set[str], deadline: float) -> bool:
        """Drain iopub until the kernel's "idle" after one of ``asked``; False if it did not come."""
        while time.monotonic() < deadline:
            try:
                msg = await self.iopub_channel.get_msg(timeout=max(deadline - time.monotonic(), 0.001))
            except Empty:
                return False
            if (msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle"
                    and msg["parent_header"].get("msg_id") in asked):
                return True
        return False

    wait_for_ready = _async_wait_for_ready


class WarmSandboxKernelManager(SandboxKernelManager):
    """SandboxKernelManager whose kernel is forked from this process's warm process; a kernel
    that cannot start warm starts cold (SandboxKernelManager's way), with a warning."""

    started_warm = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client_factory = ReadyClient

    async def _start_kernel_process(self, kernel_cmd: list[str], **kw: Any) -> None:
        try:
            self._start_warm()
            self.started_warm = True
        except WarmStartError as err:
            self.log.warning("this kernel starts cold (%s)", err)
            await super()._start_kernel_process(kernel_cmd, **kw)

    def _request(self) -> tuple[dict[str, Any], str | None]:
        launch = self.launch
        argv = list(launch["argv"])
        if (len(argv) < 3 or os.path.realpath(argv[0]) != os.path.realpath(sys.executable)
                or argv[1:3] != ["-m", "ipykernel_launcher"]):
            raise WarmStartError(f"the kernel command {argv[:3]} is not this Python's ipykernel")
        if not hasattr(os, "pidfd_open"):
            raise WarmStartError("this system has no pidfd (Linux 5.3 or later) to follow a forked kernel")
        if not _under(self._box, "/tmp"):
            raise WarmStartError("the kernel's box is not under /tmp")
        place = kernel_place(launch["workdir"])
        request = {"argv": ["ipykernel_launcher", *argv[3:], "--log-level=CRITICAL"],
                   "env": kernel_environment(launch["env"]), "workdir": launch["workdir"], "box": self._box,
                   "places": [] if place is None else [place], "mplconfigdir": SANDBOX_MPLCONFIGDIR,
                   "font_cache": font_cache(), "uid": self._user[0], "gid": self._user[1],
                   "rlimits": rlimits(launch["limits"]),
                   # a Python environment under /tmp: bound again, read-only, over the child's private /tmp
                   "python_dirs": [d for d in _python_dirs() if _under(d, "/tmp")]}
        return request, place

    def _spawn(self, request: dict[str, Any], place: str | None) -> tuple[int, int]:
        """(waiter, kernel) forked by this process's warm process; one found dead when asked (killed
        since the last kernel) is started again, once."""
        for attempt in (1, 2):
            zygote = zygote_for(self._user, place, request["font_cache"])
            request["places"] = sorted(zygote.places)
            fds = [os.open(path, os.O_WRONLY) for path in self.launch["cgroup_procs"]]
            try:
                return zygote.spawn(request, fds)
            except WarmStartError:
                if attempt == 2 or zygote.alive():
                    raise
            finally:
                for fd in fds:
                    os.close(fd)
        raise AssertionError("the second attempt returns or raises")

    def _start_warm(self) -> None:
        request, place = self._request()
        waiter, kernel = self._spawn(request, place)
        provisioner: Any = self.provisioner
        provisioner.process = WarmProcess(waiter, kernel)
        provisioner.pid, provisioner.pgid = waiter, None
        provisioner.cwd = self.launch["workdir"]
        self._reconcile_connection_info(provisioner.connection_info)
