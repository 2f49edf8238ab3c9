"""Student kernels in a sandbox during autograding (measured recipe: notes/sandbox.md).

As nbgrader ships, a student's code runs as the instructor: it can read source/ (solutions and
hidden tests), write the gradebook, open sockets and exhaust the machine. Here every autograding
kernel is started inside three layers:

1. ``bwrap``: the filesystem read-only; the course folder, /root, /home, /tmp hidden behind empty
   tmpfs mounts, with only this student's graded folder (read-only), the Python installation and
   a private folder for the kernel's sockets put back; no network, its own pid/ipc/uts namespaces.
2. ``setpriv``: an unprivileged user (``nobody`` unless GRADING_SANDBOX_USER says otherwise), no
   capabilities, no new privileges.
3. ``prlimit``: memory, CPU time, processes, open files and file size limits.

The kernel talks to the grader over unix sockets (``ipc`` transport) in its private folder, as
the network is gone. Time per cell stays bounded by nbgrader's ``Execute.timeout``.

Configuration (environment): GRADING_SANDBOX=off grades without a sandbox (only when asked for
explicitly); GRADING_SANDBOX_USER names the user kernels run as.
"""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

from jupyter_client.manager import AsyncKernelManager


# address space 4 GiB, CPU 120 s (a backstop: Execute.timeout stops loops), 64 processes/threads,
# files up to 100 MiB, 256 open files
LIMITS = ["--as=4294967296", "--cpu=120", "--nproc=64", "--fsize=104857600", "--nofile=256"]
COURSE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def enabled():
    return os.environ.get("GRADING_SANDBOX", "on").lower() not in {"off", "0", "no", "false"}


def sandbox_user():
    """(uid, gid) the kernel runs as: GRADING_SANDBOX_USER if set, else a uid of its own for each
    grading process (with nobody's group), so the process limit of one student's kernel (a fork
    bomb) cannot starve a kernel graded beside it."""
    name = os.environ.get("GRADING_SANDBOX_USER")
    if name:
        entry = pwd.getpwnam(name)
        return entry.pw_uid, entry.pw_gid
    return 2_000_000 + os.getpid() % 1_000_000, pwd.getpwnam("nobody").pw_gid


def _python_dirs():
    """Folders the kernel's Python needs: the environment and the installation it came from."""
    dirs = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    return sorted(dirs)


def _parents_inside(path, roots):
    """Ancestors of path strictly below one of roots, outermost first."""
    parents = []
    parent = os.path.dirname(path)
    while parent not in ("/", ""):
        if any(parent.startswith(r.rstrip("/") + "/") for r in roots):
            parents.append(parent)
        parent = os.path.dirname(parent)
    return parents[::-1]


def wrap(kernel_cmd, workdir, box, env_pass=None):
    """The command that starts ``kernel_cmd`` inside the sandbox."""
    uid, gid = sandbox_user()
    hidden = ["/tmp", "/root", "/home", "/run", "/dev/shm", "/var/tmp", COURSE_ROOT]
    cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    hidden = [h for h in hidden if os.path.isdir(h)]
    for path in hidden:
        cmd += ["--perms", "1777", "--tmpfs", path]
    binds = [("--ro-bind", p) for p in _python_dirs()] + [("--ro-bind", workdir), ("--bind", box)]
    made = set()
    for kind, path in binds:
        # bwrap makes missing parents of a bind 0700; the kernel's user must be able to pass
        for parent in _parents_inside(path, hidden):
            if parent not in made:
                made.add(parent)
                cmd += ["--perms", "0755", "--dir", parent]
        cmd += [kind, path, path]
    cmd += ["--chdir", workdir,
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--die-with-parent", "--new-session"]
    cmd += ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--no-new-privs",
            "--inh-caps=-all", "--bounding-set=-all"]
    cmd += ["prlimit", *LIMITS, "--"]
    env = {"PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin", "HOME": "/tmp", "USER": "student",
           "LANG": "C.UTF-8", "MPLCONFIGDIR": os.path.join(box, "mpl"), "MPLBACKEND": "agg",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.update(env_pass or {})
    # env -i: nothing of the grader's environment (a database password, say) reaches the kernel
    # --log-level=CRITICAL: no "Ctrl-C will not work" banner per kernel on the grader's terminal
    cmd += ["env", "-i"] + [f"{k}={v}" for k, v in env.items()] + list(kernel_cmd) + ["--log-level=CRITICAL"]
    return cmd


def problem():
    """None if a sandboxed process can start here, else why not (in plain words)."""
    for tool in ("bwrap", "setpriv", "prlimit"):
        if shutil.which(tool) is None:
            return (f"`{tool}` is not installed (Debian: apt-get install bubblewrap util-linux)")
    try:
        sandbox_user()
    except KeyError:
        return f"the user {os.environ.get('GRADING_SANDBOX_USER', 'nobody')!r} does not exist"
    with tempfile.TemporaryDirectory(prefix="grading-probe-") as box:
        os.chmod(box, 0o777)
        probe = wrap([sys.executable, "-c", "import numpy"], box, box)
        try:
            proc = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"the sandbox could not start: {err}"
        if proc.returncode != 0:
            detail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            return f"the sandbox could not start ({detail}); user namespaces may be disabled"
    return None


# mpl's font cache, copied into each kernel's folder so the kernel does not rebuild it (~1 s)
def _font_cache():
    for folder in (os.environ.get("MPLCONFIGDIR"), os.path.expanduser("~/.cache/matplotlib"),
                   os.path.expanduser("~/.matplotlib")):
        if folder and os.path.isdir(folder):
            found = [f for f in os.listdir(folder) if f.startswith("fontlist-") and f.endswith(".json")]
            if found:
                return os.path.join(folder, found[0])
    return None


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start inside the sandbox and talk over unix sockets."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        uid, gid = sandbox_user()
        self._box = tempfile.mkdtemp(prefix="grading-kernel-")
        os.makedirs(os.path.join(self._box, "mpl"))
        cache = _font_cache()
        if cache:
            shutil.copy(cache, os.path.join(self._box, "mpl"))
        for root, dirs, files in os.walk(self._box):
            for name in [root] + [os.path.join(root, f) for f in dirs + files]:
                os.chown(name, uid, gid)
        self.transport = "ipc"
        self.connection_file = os.path.join(self._box, "kernel.json")
        self.ip = os.path.join(self._box, "ipc")

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"  # signals would stop at bwrap's pid namespace
        return spec

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        os.chmod(self.connection_file, 0o644)  # readable by the kernel's user

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        launch_env = (self._launch_args or {}).get("env") or {}
        keep = {k: launch_env[k] for k in ("NBGRADER_EXECUTION", "NBGRADER_VALIDATING") if k in launch_env}
        keep.setdefault("NBGRADER_EXECUTION", "autograde")
        workdir = os.path.realpath((self._launch_args or {}).get("cwd") or os.getcwd())
        return wrap(cmd, workdir, self._box, keep)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._box, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources
