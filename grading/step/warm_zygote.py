"""The warm process's program (grading/step/warm_kernels.py is the grader's side).

This file is never imported by the grader: its source runs, as ``python -c``, inside a bwrap box
the grader starts once per grading process (the same allow-list root as a cold kernel's, plus the
host's tree read-only at ``/.host``, which only this trusted process ever sees). It imports what
every kernel of the course imports (IPython, ipykernel, numpy, matplotlib, ipywidgets), starts no
thread, and then waits on the socket it was given (fd ``argv[1]``) for requests from the grader:
one JSON line each, with the kernel's cgroup ``cgroup.procs`` files as passed descriptors.

For each request it forks a child C (root, still in this process's namespaces) that:

1. joins the kernel's cgroups (writes ``0`` to each passed ``cgroup.procs``: itself, before any
   other step, so every process of the kernel is charged to the kernel's own bounds),
2. unshares mount, network (its loopback up, nothing else), IPC, UTS and PID namespaces; mounts
   fresh tmpfs on /tmp, /run and /dev/shm (and on the folder that holds graded submissions) and a
   new devpts instance; binds, from ``/.host``, only this
   kernel's graded folder (read-only, the cwd), its box (read-only but for ``sock``) and the font
   list; then detaches ``/.host`` entirely and checks it is empty,
3. forks G, pid 1 of the new PID namespace, reports G's pid, and becomes ``sleep infinity`` (a
   tiny waiter: G's parent outside its namespace, killed with the cgroup).

G mounts its own /proc, starts a new session, sets the rlimits, drops every capability from its
bounding set, drops to the kernel's uid and gid with no groups, sets no-new-privileges and a
parent-death signal, clears its inherited capabilities, forks the kernel K (pid 2, as in a cold
kernel's namespace, where bwrap is pid 1) and execs a tiny init (``INIT``: reaps, and ends the
namespace when K ends). K points stdin/out/err at /dev/null, closes every other descriptor,
takes the kernel's environment variables, reseeds Python's and numpy's random generators from
the OS, and serves the kernel protocol with ipykernel's own ``IPKernelApp`` (which builds a fresh
IPython shell), exactly as ``python -m ipykernel_launcher``.
"""


INIT = """
import os, sys
kernel = int(sys.argv[1])
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        os._exit(0)
    if pid == kernel:
        os._exit(os.waitstatus_to_exitcode(status) & 0xff)
"""


def _zygote_main():
    import ctypes
    import fcntl
    import json
    import os
    import resource
    import signal
    import socket
    import struct
    import sys

    sys.path[:] = [p for p in sys.path if p not in ("", ".")]  # nothing from the cwd in the warm process
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]

    MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
    MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
    CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
    CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
    PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
    PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
    HOST = "/.host"

    def check(result, what):
        if result != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}")

    def mount(source, target, fstype, flags, data=None):
        def enc(text):
            return None if text is None else text.encode()
        check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")

    def bind(source, target, writable=False):
        mount(source, target, None, MS_BIND | MS_REC)
        flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (0 if writable else MS_RDONLY)
        mount(None, target, None, flags)

    def tmpfs(target, mode):
        mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode:o}")

    def makedirs(path):
        """The folders leading to a bind, made in a tmpfs private to this kernel: passable, not listable."""
        missing = []
        while not os.path.isdir(path):
            missing.append(path)
            path = os.path.dirname(path)
        for folder in reversed(missing):
            os.mkdir(folder, 0o711)

    with open("/proc/sys/kernel/cap_last_cap") as f:
        cap_last = int(f.read())

    # what every kernel imports, paid here once: ipykernel and IPython, with what IPKernelApp's start
    # imports (debugpy through ipykernel.debugger alone is 0.12 s a kernel), and what the notebooks
    # import (agg: no GUI; OPENBLAS_NUM_THREADS=1: no BLAS thread)
    import sqlite3  # noqa: F401

    import ipykernel.debugger  # noqa: F401
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp
    import IPython  # noqa: F401
    import IPython.core.completerlib  # noqa: F401
    import IPython.core.debugger  # noqa: F401
    import IPython.core.logger  # noqa: F401
    import IPython.core.oinspect  # noqa: F401
    import IPython.extensions.storemagic  # noqa: F401
    import ipywidgets
    import matplotlib
    import matplotlib.pyplot  # noqa: F401
    import matplotlib_inline.backend_inline  # noqa: F401
    import numpy
    import numpy.random
    import tornado.platform.asyncio  # noqa: F401
    from IPython.display import Image, display  # noqa: F401

    control = socket.socket(fileno=int(sys.argv[1]))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel, not left as zombies
    own_pid = os.getpid()

    def threads():
        return len(os.listdir("/proc/self/task"))

    def loopback_up():
        """The new network namespace's loopback interface up (no other interface exists), as bwrap
        has it in a cold kernel's."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            # SIOCSIFFLAGS: up, loopback, running
            fcntl.ioctl(probe, 0x8914, struct.pack("16sH14x", b"lo", 0x1 | 0x8 | 0x40))

    def setup_mounts(request):
        """In C: private namespaces and a file system with only this kernel's folders."""
        check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID), "unshare")
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        loopback_up()
        for path in ("/tmp", "/run", "/dev/shm"):
            tmpfs(path, 0o1777)
        mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
        for place in request["places"]:
            tmpfs(place, 0o711)
        os.mkdir(request["mplconfigdir"], 0o1777)
        os.chmod(request["mplconfigdir"], 0o1777)
        for path in (request["workdir"], request["box"]):
            if not any(path.startswith(p + "/") for p in ["/tmp", *request["places"]]):
                raise OSError(f"{path} is in no folder private to this kernel")
        binds = [(path, False) for path in request.get("python_dirs", [])]  # a Python under /tmp, read-only
        binds += [(request["workdir"], False), (request["box"], False), (os.path.join(request["box"], "sock"), True)]
        if request.get("font_cache"):
            target = os.path.join(request["mplconfigdir"], os.path.basename(request["font_cache"]))
            open(target, "w").close()
            binds.append((request["font_cache"], False, target))
        for entry in binds:
            source, writable = entry[0], entry[1]
            target = entry[2] if len(entry) > 2 else source
            if not os.path.exists(target):
                makedirs(target)
            bind(HOST + source, target, writable)
        check(libc.umount2(HOST.encode(), 2), "umount /.host")  # MNT_DETACH: the host tree is gone
        if os.listdir(HOST):
            raise OSError("the host tree is still visible after detaching it")

    def drop(request):
        """In G: the kernel's own process state before any of its code runs."""
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        for path in ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"):  # read-only, as bwrap has them
            if os.path.exists(path):
                bind(path, path)
        os.setsid()
        for name, (soft, hard) in request["rlimits"].items():
            resource.setrlimit(getattr(resource, name), (soft, hard))
        for cap in range(cap_last + 1):
            check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "drop capability")
        uid, gid = request["uid"], request["gid"]
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
        check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "ambient capabilities")
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # capset, version 3: nothing effective,
        data = (ctypes.c_uint32 * 6)()                  # permitted or inheritable
        check(libc.capset(header, data), "capset")
        os.chdir(request["workdir"])

    def null_stdio():
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)

    def become_kernel(request, report):
        null_stdio()
        os.write(report, b"ok\n")
        os.closerange(3, 65536)  # nothing of the warm process's descriptors (its socket) stays open
        os.environ.update(request["env"])
        import random
        random.seed()  # fresh from the OS, as in a new process
        numpy.random.seed()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        import importlib.util
        sys.argv[:] = [importlib.util.find_spec("ipykernel_launcher").origin, *request["argv"][1:]]  # as -m sets it
        app = ipykernel.kernelapp.IPKernelApp.instance()
        app.initialize(request["argv"][1:])
        ipywidgets._handle_ipython()  # what `import ipywidgets` does in a kernel: its comm targets
        app.start()
        os._exit(0)

    def start_init(request, report):
        """G: pid 1 of the kernel's namespace, as bwrap's own init in a cold kernel's (the kernel is
        pid 2, so it can signal itself): drops privileges, forks the kernel, then execs a tiny
        init that reaps orphans and ends, ending the namespace, when the kernel ends."""
        try:
            drop(request)
            kernel = os.fork()
            if kernel == 0:
                become_kernel(request, report)
        except BaseException as err:  # noqa: B036 (reported to the grader, then gone)
            os.write(report, f"error in the kernel's set-up: {err}\n".encode()[:4000])
            os._exit(1)
        null_stdio()  # nothing of the warm process's (its log) in the kernel's namespace, init included
        os.closerange(3, 65536)
        os.execv(sys.executable, [sys.executable, "-S", "-I", "-c", INIT, str(kernel)])

    def child(request, fds, report):
        """C: join the cgroups, build the kernel's namespaces, fork G, become a waiter."""
        try:
            control.close()
            for fd in fds:
                os.write(fd, b"0")
                os.close(fd)
            check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
            if os.getppid() != own_pid:
                os._exit(1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            setup_mounts(request)
            init = os.fork()
            if init == 0:
                start_init(request, report)
            os.write(report, f"pid {init}\n".encode())
            os.close(report)
            os.execv("/bin/sleep", ["sleep", "infinity"])
        except BaseException as err:  # noqa: B036
            os.write(report, f"error in the kernel's namespaces: {err}\n".encode()[:4000])
        os._exit(1)

    def serve(request, fds):
        if threads() != 1:
            return {"error": f"the warm process has {threads()} threads: it forks only with one"}
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            child(request, fds, write)
        os.close(write)
        for fd in fds:
            os.close(fd)
        with os.fdopen(read, "rb") as f:
            lines = f.read(65536).decode(errors="replace").splitlines()
        kernel = next((int(line.split()[1]) for line in lines if line.startswith("pid ")), None)
        errors = [line for line in lines if line.startswith("error")]
        if errors or kernel is None or "ok" not in lines:
            for target in (kernel, pid):
                if target:
                    try:
                        os.kill(target, signal.SIGKILL)
                    except OSError:
                        pass
            return {"error": "; ".join(errors) or "the kernel did not start"}
        return {"waiter": pid, "kernel": kernel}

    control.sendall(json.dumps({"ready": True, "threads": threads(), "pid": own_pid}).encode() + b"\n")
    buffer = b""
    while True:
        data, fds, _, _ = socket.recv_fds(control, 1 << 20, 16)
        if not data:
            os._exit(0)  # the grader closed its end (or died): nothing more to start
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                reply = serve(json.loads(line), fds)
            except Exception as err:
                reply = {"error": f"{type(err).__name__}: {err}"}
            fds = []
            control.sendall(json.dumps(reply).encode() + b"\n")


if __name__ == "__main__":
    _zygote_main()
