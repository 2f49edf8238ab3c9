"""Student kernels in a sandbox during autograding.

As nbgrader ships, a student's code runs as the instructor (``settings.UNSANDBOXED`` says what
that allows) and can exhaust the machine. Here every autograding kernel is started inside these
layers (outermost first):

0. a per-kernel **cgroup** (memory and pids; cgroup v1, v2 or a hybrid: grading/step/cgroups.py says how
   each is found and set up, v2's delegated subtree included), made by the grader for this kernel
   and removed after it: a tiny ``/bin/sh`` launcher writes its own pid into the cgroups'
   ``cgroup.procs`` and then execs bwrap, so every process of the kernel is inside before any
   student code exists. The memory limit (v1 ``memory.limit_in_bytes``, and
   ``memory.memsw.limit_in_bytes`` when writable; v2 ``memory.max``, and ``memory.swap.max`` = 0
   where swap is accounted) is the kernel's budget for all its processes together *and* the files
   it writes in its tmpfs mounts (tmpfs pages are charged to the writer's memory cgroup; what was
   measured: docs/sandbox.md). When the budget is exceeded the
   kernel's largest process is killed by the OOM killer (a child, or the kernel itself: its
   notebook's remaining cells then fail); a single oversized allocation gets MemoryError from the
   rlimit below. ``pids.max`` bounds its processes and threads together.
1. ``bwrap`` with a root built from nothing (an **allow-list**): read-only ``/usr``, the ``/bin``
   ``/lib*`` ``/sbin`` entries as they are on the host (symlinks recreated), four things of /etc
   (``ld.so.cache``, ``nsswitch.conf``, ``localtime``, ``alternatives``) plus a ``passwd`` and
   ``group`` written for the kernel (no host accounts), the Python environment (the venv folder
   itself, not the course around it, and the installation it came from), this student's graded
   folder (read-only, the kernel's cwd) and the kernel's private folder (the "box", for its unix
   sockets). /tmp, /run and /dev/shm are fresh tmpfs, /dev and /proc are bwrap's own. Nothing else
   of the host exists inside: no other course anywhere on the machine, no other student, no
   /root or /home, no gradebook, no exchange. The folders leading to a bind (``/root`` and
   below it, for a Python installed in root's home, say) are made empty and 0711: passable, not
   listable.
   No network; its own pid/ipc/uts namespaces; killed if the grader dies.
2. ``setpriv``: an unprivileged user, no capabilities, no new privileges. Not ``nobody``: a uid
   of its own per grading process (2,000,000 + the grading process's pid mod 1,000,000, with
   nobody's group; ``student`` in the kernel's /etc/passwd), or the uid and group of the account
   ``Sandbox.user`` names.
3. ``prlimit``, per process: the floor that holds in every mode, cgroup or not (``rlimits``):
   the address space (the memory budget, at least ``address_space``), CPU seconds, file size,
   open files and stack, each a ``c.Sandbox`` option; ``pids_limit`` processes+threads for the
   uid (per kernel, as each grading process has a uid of its own); no core files.

**Nothing the kernel can write is on the host disk.** The box is root's; only its ``sock``
folder belongs to the kernel's uid, long enough for ipykernel to bind its five sockets. The
kernel manager waits for them, then gives the folder to root (0755) and removes anything else in
it, before any cell is sent: student code runs with every writable place a tmpfs (charged to the
memory budget). Matplotlib's font list, built once by the grader, is bound read-only into
``MPLCONFIGDIR`` on the sandbox's /tmp, so kernels do not rebuild it.

**Which memory bound is in force.** ``limit_mode(settings)`` tries, once per process, to create a
kernel cgroup (memory and pids, under the grader's own cgroups) and says ``"cgroup"`` if it could.
Where it cannot (no memory and pids controllers mounted, not root and no delegated v2 subtree, a
read-only /sys) it says ``"watchdog"`` and ``cgroup_problem(settings)`` says why: a thread in the
grader sums the RSS of the kernel's process tree (every process of the pid namespace descends from
bwrap) and the space used in its tmpfs mounts (read through ``/proc/PID/root``) every 50 ms and
kills the whole tree past the budget; the process count is then bounded only by the per-uid
``--nproc``. ``python -m grading.step.sandbox`` prints, one line per bound, which holds here and why:
whether the sandbox starts, user namespaces, the network, the cgroup hierarchy, memory, processes,
tmpfs files and the rlimits a probe read inside the sandbox. (It makes and removes a kernel cgroup
to find out: on cgroup v2 that sets up the delegated subtree as grading would.)

Settings: ``c.Sandbox.*`` (each option's help is in grading/settings.py; ``python -m
grading.settings`` prints them with their values). A kernel manager reads them from the
configuration nbgrader gives it; the module's functions take a ``Sandbox``. What was measured
(tasks and memory of a kernel, start-up times): docs/sandbox.md.

The kernel talks to the grader over unix sockets (``ipc`` transport) in its box, as the network is
gone. Time per cell stays bounded by nbgrader's ``Execute.timeout``.
"""
from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal

from jupyter_client.manager import AsyncKernelManager

from grading.settings import UNSANDBOXED, Sandbox, course_settings, parse_size
from grading.step.cgroups import Hierarchy, KernelCgroup, systemd_delegation

# No core files, whatever the settings: the host's core_pattern, not the sandbox, decides where a
# core would be written.
NO_CORE = "--core=0"
COURSE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ETC_FILES = ["/etc/ld.so.cache", "/etc/nsswitch.conf", "/etc/localtime", "/etc/alternatives"]
SANDBOX_MPLCONFIGDIR = "/tmp/matplotlib"
_LAUNCHER = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'


def sandbox_user(settings: Sandbox) -> tuple[int, int]:
    """(uid, gid) the kernel runs as: ``settings.user`` if set, else a uid of its own for each
    grading process (with nobody's group), so the process limit of one student's kernel (a fork
    bomb) cannot starve a kernel graded beside it."""
    if settings.user:
        entry = pwd.getpwnam(settings.user)
        return entry.pw_uid, entry.pw_gid
    return 2_000_000 + os.getpid() % 1_000_000, pwd.getpwnam("nobody").pw_gid


# ----------------------------------------------------------------------------- the file system
def _python_dirs() -> list[str]:
    """Folders the kernel's Python needs: the environment and the installation it came from."""
    dirs: set[str] = set()
    for prefix in (sys.prefix, sys.base_prefix):
        dirs |= {os.path.abspath(prefix), os.path.realpath(prefix)}
    # a folder already bound (inside /usr, or inside another of these) needs no bind of its own
    dirs = {d for d in dirs if not (d == "/usr" or d.startswith("/usr/"))}
    return sorted(d for d in dirs if not any(d.startswith(o + "/") for o in dirs))


def _root_entries() -> list[str]:
    """bwrap arguments for /usr and the top-level /bin /lib* /sbin entries, as on the host."""
    cmd = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = "/" + name
        if os.path.islink(path):
            cmd += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            cmd += ["--ro-bind", path, path]
    return cmd


def _parents(path: str) -> list[str]:
    """Ancestors of path below /, outermost first."""
    parents = []
    parent = os.path.dirname(path)
    while parent not in ("/", ""):
        parents.append(parent)
        parent = os.path.dirname(parent)
    return parents[::-1]


def _etc_entries(box: str) -> list[str]:
    """bwrap arguments for /etc: a few host files, and the box's passwd and group."""
    cmd = ["--perms", "0755", "--dir", "/etc"]  # bwrap would make it 0700: unreadable to the kernel
    for path in ETC_FILES:
        if os.path.exists(path):
            cmd += ["--ro-bind", path, path]
    for name in ("passwd", "group"):
        if os.path.exists(os.path.join(box, name)):
            cmd += ["--ro-bind", os.path.join(box, name), "/etc/" + name]
    return cmd


def _bind_entries(workdir: str, box: str) -> list[str]:
    """bwrap arguments for the Python environment, ``workdir`` and ``box`` (read-only; the box's
    ``sock`` folder writable), each after the folders leading to it."""
    cmd: list[str] = []
    made = {"/usr", "/tmp", "/run", "/dev", "/proc", "/etc"}
    binds = [("--ro-bind", p) for p in _python_dirs()] + [("--ro-bind", workdir), ("--ro-bind", box)]
    sock = os.path.join(box, "sock")
    if os.path.isdir(sock):
        binds.append(("--bind", sock))
    for kind, path in binds:
        for parent in _parents(path):  # the folders leading to a bind: passable, not listable
            if parent not in made:
                made.add(parent)
                cmd += ["--perms", "0711", "--dir", parent]
        cmd += [kind, path, path]
    return cmd


def kernel_environment(env_pass: Mapping[str, str] | None = None) -> dict[str, str]:
    """The kernel's whole environment: these variables, ``env_pass``, and nothing of the grader's."""
    env = {"PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin", "HOME": "/tmp", "USER": "student",
           "LANG": "C.UTF-8", "MPLCONFIGDIR": SANDBOX_MPLCONFIGDIR, "MPLBACKEND": "agg",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.update(env_pass or {})
    return env


def wrap(kernel_cmd: Sequence[str], workdir: str, box: str, user: tuple[int, int],
         env_pass: Mapping[str, str] | None = None, cgroup_procs: Sequence[str] = (), font_cache: str | None = None,
         limits: Sequence[str] | None = None) -> list[str]:
    """The command that starts ``kernel_cmd`` inside the sandbox as ``user`` (uid, gid):
    ``workdir`` read-only (the cwd), ``box`` read-only but for its ``sock`` folder,
    ``cgroup_procs`` the cgroup.procs files the launcher joins before it execs bwrap,
    ``font_cache`` a matplotlib fontlist json, ``limits`` prlimit's arguments (``rlimits(settings)``;
    default: the default settings')."""
    uid, gid = user
    cmd = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
           "--die-with-parent", "--new-session"]
    cmd += _root_entries()
    for path in ("/tmp", "/run"):
        cmd += ["--perms", "1777", "--tmpfs", path]
    cmd += ["--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm", "--proc", "/proc"]
    cmd += _etc_entries(box)
    cmd += _bind_entries(workdir, box)
    cmd += ["--perms", "1777", "--dir", SANDBOX_MPLCONFIGDIR]
    if font_cache:
        cmd += ["--ro-bind", font_cache, os.path.join(SANDBOX_MPLCONFIGDIR, os.path.basename(font_cache))]
    cmd += ["--chdir", workdir]
    cmd += ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--no-new-privs",
            "--inh-caps=-all", "--bounding-set=-all"]
    cmd += ["prlimit", *(rlimits(Sandbox()) if limits is None else limits), "--"]
    # env -i: nothing of the grader's environment (a database password, say) reaches the kernel
    # --log-level=CRITICAL: no "Ctrl-C will not work" banner per kernel on the grader's terminal
    env = kernel_environment(env_pass)
    cmd += ["env", "-i"] + [f"{k}={v}" for k, v in env.items()] + list(kernel_cmd) + ["--log-level=CRITICAL"]
    if cgroup_procs:
        cmd = ["/bin/sh", "-c", _LAUNCHER, "sh", *cgroup_procs, "--"] + cmd
    return cmd


def _write_accounts(box: str, uid: int, gid: int) -> None:
    """passwd and group for the sandbox: root, the kernel's user (home /tmp) and nobody."""
    with open(os.path.join(box, "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/usr/sbin/nologin\n"
                f"student:x:{uid}:{gid}:student:/tmp:/usr/sbin/nologin\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    with open(os.path.join(box, "group"), "w") as f:
        f.write(f"root:x:0:\nnogroup:x:{gid}:\n" if gid != 0 else "root:x:0:\n")
    for name in ("passwd", "group"):
        os.chmod(os.path.join(box, name), 0o644)


def make_box(uid: int, gid: int) -> str:
    """The kernel's private folder: root's, readable; ``sock`` the kernel's until it is locked."""
    box = tempfile.mkdtemp(prefix="grading-kernel-")
    os.chmod(box, 0o755)
    _write_accounts(box, uid, gid)
    sock = os.path.join(box, "sock")
    os.mkdir(sock, 0o700)
    os.chown(sock, uid, gid)
    return box


def lock_box(box: str, expected: Collection[str] = ()) -> list[str]:
    """Give the box's writable folder to root and remove from it anything but ``expected``
    sockets: from here on the kernel cannot write the host disk."""
    sock = os.path.join(box, "sock")
    os.chown(sock, 0, 0)
    os.chmod(sock, 0o755)
    removed = []
    for entry in os.scandir(sock):
        if entry.name in expected and stat.S_ISSOCK(entry.stat(follow_symlinks=False).st_mode):
            continue
        removed.append(entry.name)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)
    return removed


LimitMode = Literal["cgroup", "watchdog"]  # how a kernel's memory and processes are bound
_FONT_CACHE: list[str | None] = []


def font_cache() -> str | None:
    """Path of matplotlib's font list for the kernels' matplotlib, built once if missing (None
    without matplotlib)."""
    if _FONT_CACHE:
        return _FONT_CACHE[0]
    code = ("import matplotlib, matplotlib.font_manager as fm, os\n"
            "print(os.path.join(matplotlib.get_cachedir(), "
            "'fontlist-v%s.json' % fm.FontManager.__version__))")
    found = None
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "MPLBACKEND": "agg"})
        path = proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 and proc.stdout.strip() else ""
        found = path if path and os.path.isfile(path) else None
    except (OSError, subprocess.TimeoutExpired):
        pass
    _FONT_CACHE.append(found)
    return found


# ----------------------------------------------------------------------------- memory and pids
_MODE: dict[str, str | None] = {}


def cgroup_problem(settings: Sandbox) -> str | None:
    """None where a per-kernel cgroup can be made here (tried once per process: one is made and
    removed), else why not, in plain words."""
    if not settings.use_cgroup:
        return "Sandbox.use_cgroup is False"
    if "problem" not in _MODE:
        try:
            KernelCgroup.create(settings.memory_bytes, settings.pids_limit).remove()
            _MODE["problem"] = None
        except OSError as err:
            _MODE["problem"] = err.strerror or str(err)
    return _MODE["problem"]


def limit_mode(settings: Sandbox) -> LimitMode:
    """"cgroup" where a per-kernel cgroup (v1 or v2, grading/step/cgroups.py) can be made here, else
    "watchdog" (see the module docstring); ``cgroup_problem`` says why."""
    return "cgroup" if cgroup_problem(settings) is None else "watchdog"


def rlimits(settings: Sandbox) -> list[str]:
    """prlimit's arguments for a kernel under ``settings`` (``c.Sandbox.*``): the per-process
    floor that holds in every mode, cgroup or not. The address space is the memory budget, at
    least ``address_space``; the processes+threads of the kernel's uid ``pids_limit``."""
    return [f"--as={max(settings.memory_bytes, parse_size(settings.address_space))}",
            f"--cpu={settings.cpu_seconds}", f"--nproc={settings.pids_limit}",
            f"--fsize={parse_size(settings.file_size)}", f"--nofile={settings.open_files}",
            f"--stack={parse_size(settings.stack_size)}", NO_CORE]


class Watchdog(threading.Thread):
    """Without cgroups: kill the kernel's whole process tree once the RSS of its processes plus
    the bytes in its tmpfs mounts pass ``budget``."""

    def __init__(self, pid: int, budget: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True, name=f"sandbox-watchdog-{pid}")
        self.pid, self.budget, self.interval = pid, budget, interval
        self.stopped = threading.Event()
        self.killed = False
        self.peak = 0

    def usage(self) -> tuple[int, list[Any]]:
        import psutil
        try:
            root = psutil.Process(self.pid)
            tree = [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            return 0, []
        rss = 0
        for proc in tree:
            try:
                rss += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        tmpfs = 0
        inner = tree[1] if len(tree) > 1 else None  # bwrap's child: inside the sandbox's mounts
        if inner is not None:
            for mount in ("tmp", "run", "dev/shm"):
                try:
                    st = os.statvfs(f"/proc/{inner.pid}/root/{mount}")
                    tmpfs += (st.f_blocks - st.f_bfree) * st.f_frsize
                except OSError:
                    pass
        return rss + tmpfs, tree

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            used, tree = self.usage()
            if not tree:
                return
            self.peak = max(self.peak, used)
            if used > self.budget:
                self.killed = True
                for proc in reversed(tree):
                    try:
                        proc.kill()
                    except Exception:
                        pass
                return

    def stop(self) -> None:
        self.stopped.set()


# ----------------------------------------------------------------------------- can it start?
# what the probe reports from inside the sandbox: the network it sees, its uid, its rlimits
_PROBE = """import json, os, resource, socket
import numpy
names = ("AS", "NPROC", "NOFILE", "FSIZE", "CPU", "STACK", "CORE")
limits = {n: resource.getrlimit(getattr(resource, "RLIMIT_" + n))[0] for n in names}
print(json.dumps({"interfaces": sorted(n for _, n in socket.if_nameindex()), "uid": os.getuid(), "rlimits": limits}))
"""


def probe(settings: Sandbox) -> tuple[str | None, dict[str, Any]]:
    """(None, what a process saw inside the sandbox) if a sandboxed process can start here, else
    (why not in plain words, {})."""
    for tool in ("bwrap", "setpriv", "prlimit"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (Debian: apt-get install bubblewrap util-linux)", {}
    try:
        uid, gid = sandbox_user(settings)
    except KeyError:
        return f"the user {settings.user or 'nobody'!r} does not exist (Sandbox.user)", {}
    box = make_box(uid, gid)
    try:
        cmd = wrap([sys.executable, "-c", _PROBE], box, box, (uid, gid), limits=rlimits(settings))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"the sandbox could not start: {err}", {}
        if proc.returncode != 0:
            detail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            return f"the sandbox could not start ({detail}); user namespaces may be disabled", {}
    finally:
        shutil.rmtree(box, ignore_errors=True)
    try:
        return None, json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None, {}


def problem(settings: Sandbox) -> str | None:
    """None if a sandboxed process can start here, else why not (in plain words)."""
    return probe(settings)[0]


# ----------------------------------------------------------------------------- the kernel manager
class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start inside the sandbox, in a cgroup of their own (or
    watched), and talk over unix sockets in a box they cannot write once the sockets exist."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = Sandbox(parent=self)  # c.Sandbox.* of the configuration nbgrader passes on
        self._user = sandbox_user(self.settings)
        self._box = make_box(*self._user)
        self._cgroup: KernelCgroup | None = None
        self._watchdog: Watchdog | None = None
        self.limit_mode: LimitMode | None = None
        self.launch: dict[str, Any] = {}
        self.transport = "ipc"
        self.connection_file = os.path.join(self._box, "kernel.json")
        self.ip = os.path.join(self._box, "sock", "ipc")

    @property
    def kernel_spec(self) -> Any:
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"  # signals would stop at bwrap's pid namespace
        return spec

    @property
    def cgroup(self) -> KernelCgroup | None:
        """The kernel's KernelCgroup while it runs (None in watchdog mode)."""
        return self._cgroup

    @property
    def channel_folder(self) -> str:
        """Where the grader puts the test channel's socket (grading/step/channel.py): the box's
        ``sock`` folder, root's once the kernel has bound its own sockets, which the kernel sees at
        the same path."""
        return os.path.join(self._box, "sock")

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        os.chmod(self.connection_file, 0o644)  # readable by the kernel's user

    def _release_limits(self) -> None:
        if self._watchdog is not None:
            self._watchdog.stop()
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        launch_args: dict[str, Any] = self._launch_args or {}
        launch_env: dict[str, str] = launch_args.get("env") or {}
        keep: dict[str, str] = {k: launch_env[k] for k in ("NBGRADER_EXECUTION", "NBGRADER_VALIDATING")
                                if k in launch_env}
        keep.setdefault("NBGRADER_EXECUTION", "autograde")
        workdir = os.path.realpath(launch_args.get("cwd") or os.getcwd())
        self._release_limits()  # a restart: the previous kernel's cgroup goes
        self.limit_mode = limit_mode(self.settings)
        procs: Sequence[str] = ()
        if self.limit_mode == "cgroup":
            try:
                self._cgroup = KernelCgroup.create(self.settings.memory_bytes, self.settings.pids_limit)
                procs = self._cgroup.procs_files
            except OSError as err:  # worked for the probe, not now: this kernel is watched instead
                self.log.warning("no cgroup for this kernel (%s): the watchdog bounds it", err)
                self.limit_mode = "watchdog"
        limits = rlimits(self.settings)
        # what a warm start (grading/step/warm_kernels.py) needs to set up the same kernel
        self.launch = {"argv": cmd, "env": keep, "workdir": workdir, "cgroup_procs": procs, "limits": limits}
        return wrap(cmd, workdir, self._box, self._user, keep, cgroup_procs=procs, font_cache=font_cache(),
                    limits=limits)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        await self._start_kernel_process(kernel_cmd, **kw)
        provisioner: Any = self.provisioner
        pid = provisioner.pid if provisioner else None
        if self.limit_mode == "watchdog" and pid:
            self._watchdog = Watchdog(pid, self.settings.memory_bytes)
            self._watchdog.start()
        await self._lock_box_when_bound()

    async def _start_kernel_process(self, kernel_cmd: list[str], **kw: Any) -> None:
        """Start the kernel's process (a cold start: bwrap runs ``kernel_cmd``); a subclass may
        start it otherwise (grading/step/warm_kernels.py)."""
        await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _lock_box_when_bound(self, seconds: float = 60.0) -> None:
        """Wait until the kernel has bound its sockets (or died), then lock the box."""
        names = {f"{os.path.basename(self.ip)}-{port}" for port in self.ports}
        sock = os.path.join(self._box, "sock")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            present: set[str] = set()
            for name in names:
                try:
                    if stat.S_ISSOCK(os.lstat(os.path.join(sock, name)).st_mode):
                        present.add(name)
                except OSError:
                    pass
            if present == names:
                break
            if self.provisioner is None or await self.provisioner.poll() is not None:
                break  # the kernel died before binding: lock anyway, nbclient reports it
            await asyncio.sleep(0.005)
        lock_box(self._box, names)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        self._release_limits()
        if not restart:
            shutil.rmtree(self._box, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


def _size(n: int) -> str:
    return f"{n / (1 << 30):.2f} GiB" if n >= 1 << 30 else f"{n >> 20} MiB"


def _user_namespaces() -> str:
    if os.geteuid() == 0:
        return "not needed: bwrap runs as root and makes its namespaces itself"
    try:
        with open("/proc/sys/user/max_user_namespaces") as f:
            most = int(f.read())
    except (OSError, ValueError):
        most = None
    if most == 0:
        return "disabled (user.max_user_namespaces = 0): bwrap cannot start without root"
    return f"allowed (user.max_user_namespaces = {most}); bwrap needs them, as it does not run as root"


def _memory_lines(settings: Sandbox, group: dict[str, Any] | None, why: str | None) -> list[tuple[str, str]]:
    """The memory, processes and tmpfs lines for a kernel cgroup ``group`` (None: the watchdog)."""
    budget, pids = _size(settings.memory_bytes), settings.pids_limit
    if group is None:
        return [("memory per kernel", f"{budget} for all its processes, bound by the grader's watchdog (the RSS "
                 f"of the kernel's process tree every 50 ms; killed past it): no cgroup, as {why}"),
                ("processes+threads per kernel", f"{pids}, by RLIMIT_NPROC of the kernel's uid only (a uid of its "
                 "own per grading process" + (f"; shared by every kernel, as Sandbox.user = {settings.user!r}"
                                              if settings.user else "") + ")"),
                ("tmpfs files", "counted in the memory budget by the watchdog (the space used in the kernel's "
                 "/tmp, /run and /dev/shm)")]
    files = ("memory.limit_in_bytes" + (", memory.memsw.limit_in_bytes" if group.get("swap") else "")
             if group["version"] == "v1" else "memory.max" + (", memory.swap.max = 0" if group.get("swap") else ""))
    where = ""
    if group["version"] == "v2":
        delegated = systemd_delegation(group["base"])
        where = f", made in {group['base']}" + (
            "" if delegated is None else ", which systemd delegates to the grader" if delegated else
            ", which systemd has NOT delegated to the grader: it may take the controllers back; run the grading "
            "in a delegated unit (systemd-run --scope -p Delegate=yes make autograde)")
    return [("memory per kernel", f"{budget} for all its processes together, bound by a cgroup {group['version']} "
             f"per kernel ({files}{where}); the out-of-memory killer kills its largest process past it"),
            ("processes+threads per kernel", f"{pids}, bound by the kernel's cgroup (pids.max), and by "
             "RLIMIT_NPROC of its uid"),
            ("tmpfs files", "counted in the memory budget (tmpfs pages are charged to the writer's memory cgroup)")]


def _cgroup_facts(settings: Sandbox) -> dict[str, Any] | None:
    """{"version", "swap", "base"} of a kernel cgroup made here and removed, or None."""
    if limit_mode(settings) != "cgroup":
        return None
    group = KernelCgroup.create(settings.memory_bytes, settings.pids_limit)
    try:
        swap = "memory.memsw.limit_in_bytes" if group.version == "v1" else "memory.swap.max"
        return {"version": group.version, "swap": os.path.exists(os.path.join(group.dirs["memory"], swap)),
                "base": os.path.dirname(group.dirs["memory"])}
    finally:
        group.remove()


def bounds(settings: Sandbox) -> list[tuple[str, str]]:
    """[(bound, how it holds here and why)] for ``python -m grading.step.sandbox``; first the sandbox."""
    if not settings.enabled:
        return [("sandbox", f"OFF (Sandbox.enabled = False): {UNSANDBOXED}, unbounded")]
    reason, seen = probe(settings)
    hierarchy = Hierarchy.detect()
    lines = [("sandbox", "starts (a probe imported numpy inside it)" if reason is None else f"cannot start: {reason}"),
             ("user namespaces", _user_namespaces())]
    interfaces = seen.get("interfaces")
    lines.append(("network", "unknown (the probe did not run)" if interfaces is None else
                  "isolated: a network namespace of its own, where the probe saw only " + ", ".join(interfaces)
                  if interfaces == ["lo"] else f"NOT isolated: the probe saw {', '.join(interfaces)}"))
    lines.append(("cgroup hierarchy", hierarchy.describe()))
    lines += _memory_lines(settings, _cgroup_facts(settings), cgroup_problem(settings))
    limits = seen.get("rlimits") or {}
    floor = (f"address space {_size(max(settings.memory_bytes, parse_size(settings.address_space)))}, CPU "
             f"{settings.cpu_seconds} s, {settings.open_files} open files, files up to "
             f"{_size(parse_size(settings.file_size))}, stack {_size(parse_size(settings.stack_size))}, no core "
             f"files, {settings.pids_limit} processes+threads of its uid")
    measured = "" if not limits else " (the probe read " + ", ".join(f"{k}={v}" for k, v in limits.items()) + ")"
    lines.append(("per process, in every mode", f"rlimits: {floor}{measured}"))
    return lines


def main() -> int:
    """Print whether the sandbox starts here and which bound holds how, one line per bound."""
    settings = course_settings(Sandbox)
    lines = bounds(settings)
    for name, text in lines:
        print(f"{name}: {text}")
    return 0 if not settings.enabled or lines[0][1].startswith("starts") else 1


if __name__ == "__main__":
    sys.exit(main())
