"""A cgroup of its own for each sandboxed kernel, on cgroup v1, v2 or a hybrid of both.

Which hierarchy a host has is read from ``/proc/self/mountinfo`` (``Hierarchy.detect``):

- **v1** ("legacy"): one mount per controller (``/sys/fs/cgroup/memory``, ``/sys/fs/cgroup/pids``).
  A kernel's cgroup is a folder in each, beside the grading process's own cgroup:
  ``memory.limit_in_bytes`` (and ``memory.memsw.limit_in_bytes`` where swap is accounted) and
  ``pids.max``.
- **v2** ("unified", Debian's default since 11): one ``cgroup2`` mount; a controller's files exist in
  a cgroup only if its parent lists the controller in ``cgroup.subtree_control``, and a cgroup that
  does so may hold no process itself (the "no internal processes" rule; the root is exempt). So the
  grading process's own cgroup is taken as the **delegated subtree**: every process in it is moved
  into a leaf of it, ``grading-grader`` (the grading process, its workers, and whatever else ran
  there, such as the shell that started it: they keep every limit the subtree has, as the leaf sets
  none), ``+memory +pids`` is written into its ``cgroup.subtree_control``, and each kernel's cgroup
  is a sibling of the leaf with ``memory.max``, ``memory.swap.max`` = 0 (where swap is accounted:
  no swapping past the budget) and ``pids.max``. Later grading processes started from the leaf
  find the subtree set up. On a systemd host, run the grading in a unit systemd delegates to it
  (``systemd-run --scope -p Delegate=yes make autograde``, or ``Delegate=yes`` in a service): in a
  unit that is not delegated, systemd considers the cgroup its own and may undo the controllers.
  Without root, the subtree must be delegated to the grading user (its ``cgroup.procs`` and
  ``cgroup.subtree_control`` writable, the memory and pids controllers enabled above it).
- **hybrid**: v1 controllers plus a ``cgroup2`` mount (``/sys/fs/cgroup/unified``) that holds only
  the controllers v1 does not. The memory and pids controllers are used where they are mounted: v1
  if both are there, else v2 if both are there.
- **none**: neither memory nor pids can be reached (not mounted, or split between v1 and v2).

A kernel joins its cgroups before any of its code runs: the sandbox's ``/bin/sh`` launcher writes
its own pid into ``procs_files`` and then execs bwrap. ``remove()`` kills what is left (v2:
``cgroup.kill``) and removes the folders. Kernel cgroups are named ``grading-<pid>-<n>`` after the
grading process that made them, so the ones a killed grading process left behind are swept when
the next one is made (``sweep_stale``).

What was tried where (tests/test_cgroups.py, tests/test_sandbox_limits.py): v1 end to end, with
real kernels (memory, tmpfs files, pids). v2 on a model of cgroup2's rules in a temporary folder
(the files written and read, the move into the leaf, a process forked meanwhile, no delegation,
the root's exemption, stale sweeps), and on a real cgroup2 mount without the memory and pids
controllers (the leaf move, the launcher joining, ``cgroup.kill``, the stale sweep, the message
where the controllers are not delegated; as root, and as a user in a subtree delegated to it the
way systemd does, its folder and ``cgroup.procs``, ``cgroup.subtree_control``, ``cgroup.threads``
chowned to the user); ``memory.max`` and ``pids.max`` were never met by a
real kernel's processes, as the development machines bind those controllers to v1.
"""
from __future__ import annotations

import errno
import itertools
import os
import re
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

CONTROLLERS = ("memory", "pids")
LEAF = "grading-grader"  # v2: where the grading processes move so that their cgroup may delegate
_SERIAL = itertools.count()


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _write(path: str, value: object) -> None:
    """One write to a cgroup file (the kernel reads each write() as one command)."""
    with open(path, "w") as f:
        f.write(str(value))


def _unescape(text: str) -> str:
    """mountinfo escapes spaces, tabs, newlines and backslashes as octal (``\\040``)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def _inside(mount_point: str, mount_root: str, path: str) -> str:
    """Folder of cgroup ``path`` (as /proc/self/cgroup names it) under a mount of ``mount_root``."""
    rel = os.path.relpath(path, mount_root) if mount_root != "/" else path.lstrip("/")
    if rel == "." or rel == "":
        return mount_point
    if rel.startswith(".."):  # a cgroup namespace shows our own cgroup as the mount's root
        return mount_point
    own = os.path.join(mount_point, rel)
    return own if os.path.isdir(own) else mount_point


Version = Literal["v1", "v2"]  # the cgroup version kernels' cgroups are made with


@dataclass
class Hierarchy:
    """What this host has: ``v1`` {controller: (mount point, mount root)}, ``v2`` (mount point,
    mount root) or None, ``v2_controllers`` the controllers the cgroup2 root offers, ``own``
    {controller or "": this process's cgroup path} as /proc/self/cgroup gives it."""

    v1: dict[str, tuple[str, str]] = field(default_factory=dict)
    v2: tuple[str, str] | None = None
    v2_controllers: frozenset[str] = frozenset()
    own: dict[str, str] = field(default_factory=dict)
    v1_mounts: int = 0  # cgroup v1 mounts of any controller (cpu, ...), memory and pids or not

    @classmethod
    def parse(cls, mountinfo: str, proc_cgroup: str) -> Hierarchy:
        """From the text of /proc/self/mountinfo and /proc/self/cgroup (reads the cgroup2 root's
        ``cgroup.controllers``)."""
        found = cls()
        for line in mountinfo.splitlines():
            found._add_mount(line)
        for line in proc_cgroup.splitlines():
            hid, names, path = line.split(":", 2)
            for name in names.split(",") if names else [""]:
                found.own[name if hid != "0" else ""] = path
        if found.v2 is not None:
            try:
                found.v2_controllers = frozenset(_read(os.path.join(found.v2[0], "cgroup.controllers")).split())
            except OSError:
                pass
        return found

    def _add_mount(self, line: str) -> None:
        left, _, right = line.partition(" - ")
        fields, after = left.split(), right.split()
        if len(fields) < 5 or len(after) < 3:
            return
        fstype, root, point = after[0], _unescape(fields[3]), _unescape(fields[4])
        if fstype == "cgroup2" and self.v2 is None:
            self.v2 = (point, root)
        elif fstype == "cgroup":
            self.v1_mounts += 1
            for option in after[2].split(","):
                if option in CONTROLLERS and option not in self.v1:
                    self.v1[option] = (point, root)

    @classmethod
    def detect(cls) -> Hierarchy:
        """This process's view of the host."""
        try:
            return cls.parse(_read("/proc/self/mountinfo"), _read("/proc/self/cgroup"))
        except OSError:
            return cls()

    @property
    def kind(self) -> Literal["v1", "v2", "hybrid", "none"]:
        """"v1", "v2", "hybrid" (v1 controllers and a cgroup2 mount) or "none"."""
        if self.v1_mounts and self.v2:
            return "hybrid"
        return "v1" if self.v1_mounts else "v2" if self.v2 else "none"

    @property
    def backend(self) -> Version | None:
        """Where the memory and pids controllers both are: "v1", "v2" or None."""
        if set(CONTROLLERS) <= set(self.v1):
            return "v1"
        if self.v2 and set(CONTROLLERS) <= self.v2_controllers and not set(CONTROLLERS) & set(self.v1):
            return "v2"
        return None

    def v1_parents(self) -> dict[str, str]:
        """{controller: the folder of this process's own v1 cgroup}."""
        return {c: _inside(*self.v1[c], self.own.get(c, "/")) for c in CONTROLLERS if c in self.v1}

    def v2_base(self) -> str:
        """The v2 cgroup kernels' cgroups are made in: this process's own, or the one above it when
        this process already sits in the leaf a grading process made (``LEAF``)."""
        assert self.v2 is not None, "no cgroup2 mount"  # asked only where backend is "v2"
        own = _inside(*self.v2, self.own.get("", "/"))
        return os.path.dirname(own) if os.path.basename(own) == LEAF else own

    def describe(self) -> str:
        """One line: the hierarchy, where the controllers are."""
        parts = []
        if self.v1_mounts:
            found = ", ".join(f"{c} at {self.v1[c][0]}" for c in sorted(self.v1)) or "neither memory nor pids"
            parts.append(f"cgroup v1 ({found})")
        if self.v2:
            offered = " ".join(sorted(self.v2_controllers)) or "none"
            parts.append(f"cgroup2 at {self.v2[0]} (controllers: {offered})")
        return f"{self.kind}: " + (" and ".join(parts) if parts else "no cgroup filesystem mounted")

    def why_not(self) -> str | None:
        """Why no per-kernel cgroup can be made from what is mounted (None if it may)."""
        if self.backend:
            return None
        if not self.v1_mounts and not self.v2:
            return "no cgroup filesystem is mounted"
        where = {c: "v1" if c in self.v1 else "v2" if c in self.v2_controllers else None for c in CONTROLLERS}
        missing = [c for c, w in where.items() if w is None]
        if missing:
            return f"no {' or '.join(missing)} controller is mounted"
        return "the memory and pids controllers are split between cgroup v1 and v2"


# ----------------------------------------------------------------------------- v2 delegation
def _move_all(base: str, leaf: str) -> None:
    """Move every process of cgroup ``base`` into ``leaf``; OSError for one that cannot move."""
    for pid in _read(os.path.join(base, "cgroup.procs")).split():
        try:
            _write(os.path.join(leaf, "cgroup.procs"), pid)
        except ProcessLookupError:  # it ended meanwhile
            pass
        except OSError as err:
            raise OSError(err.errno, f"process {pid} in {base} cannot be moved into {LEAF} ({err.strerror}): "
                                     "the cgroup is not delegated to this user") from None


def enable_controllers(base: str, controllers: Iterable[str] = CONTROLLERS, rounds: int = 20) -> None:
    """Make ``base`` (a v2 cgroup) give ``controllers`` to the cgroups made in it: first every
    process in it moves into its leaf ``LEAF`` (a non-root cgroup that enables controllers for
    its children may hold no process), then ``+controller`` goes into ``cgroup.subtree_control``.
    Retried while processes appear (a fork). OSError, with the reason, where it cannot be done."""
    wanted = set(controllers)
    if wanted <= set(_read(os.path.join(base, "cgroup.subtree_control")).split()):
        return
    offered = set(_read(os.path.join(base, "cgroup.controllers")).split())
    if wanted - offered:
        missing = " ".join(sorted(wanted - offered))
        raise OSError(errno.ENOENT, f"{base} is not given the {missing} controller(s) by the cgroup above "
                                    "it: delegate them to this subtree")
    root = not os.path.exists(os.path.join(base, "cgroup.type"))  # the root has no type; it may hold processes
    leaf = os.path.join(base, LEAF)
    if not root:
        os.makedirs(leaf, exist_ok=True)
    for _ in range(rounds):
        if not root:
            _move_all(base, leaf)
        try:
            _write(os.path.join(base, "cgroup.subtree_control"), " ".join("+" + c for c in sorted(wanted)))
            return
        except OSError as err:
            if err.errno != errno.EBUSY or root:
                raise
        time.sleep(0.01)
    raise OSError(errno.EBUSY, f"{base} still holds processes after {rounds} moves into {LEAF}")


def systemd_delegation(path: str, systemd_dir: str = "/run/systemd/system") -> bool | None:
    """Where systemd is the init: whether it delegated cgroup ``path`` (it marks a delegated unit's
    cgroup with the ``trusted.delegate`` or ``user.delegate`` attribute), True or False. None where
    systemd does not run the host (nobody else claims the cgroups)."""
    if not os.path.isdir(systemd_dir):
        return None
    for name in ("trusted.delegate", "user.delegate"):
        try:
            if os.getxattr(path, name) == b"1":
                return True
        except OSError:
            pass
    return False


# ----------------------------------------------------------------------------- a kernel's cgroup
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class KernelCgroup:
    """The cgroup(s) of one kernel: memory and pids, both bounded. ``create()`` makes them (OSError
    where they cannot be made: ``str(err)`` says why); ``procs_files`` are what the launcher joins;
    ``remove()`` kills what is left and removes them. ``version`` is "v1" or "v2"; ``dirs`` maps
    each controller to its folder (one folder for both on v2)."""

    def __init__(self, memory: int, pids: int) -> None:
        self.memory, self.pids = memory, pids
        self.name = f"grading-{os.getpid()}-{next(_SERIAL)}"
        self.dirs: dict[str, str] = {}
        self.version: Version | None = None

    @classmethod
    def create(cls, memory: int, pids: int, hierarchy: Hierarchy | None = None) -> KernelCgroup:
        """A kernel cgroup of ``memory`` bytes (memory and tmpfs files of all its processes) and
        ``pids`` processes+threads, under this process's own cgroup(s) of ``hierarchy`` (default:
        this host's)."""
        hierarchy = hierarchy or Hierarchy.detect()
        backend = hierarchy.backend
        if backend is None:
            raise OSError(errno.ENOENT, hierarchy.why_not())
        group = cls(memory, pids)
        group.version = backend
        parents = hierarchy.v1_parents() if backend == "v1" else {"v2": hierarchy.v2_base()}
        if backend == "v2":
            enable_controllers(parents["v2"])
        sweep_stale(parents)
        try:
            if backend == "v1":
                group._make_v1(parents)
            else:
                group._make_v2(parents["v2"])
        except OSError:
            group.remove()
            raise
        return group

    def _make_v1(self, parents: dict[str, str]) -> None:
        for controller, parent in parents.items():
            path = os.path.join(parent, self.name)
            os.mkdir(path)
            self.dirs[controller] = path
        self._write("memory", "memory.limit_in_bytes", self.memory)
        if os.path.exists(os.path.join(self.dirs["memory"], "memory.memsw.limit_in_bytes")):
            self._write("memory", "memory.memsw.limit_in_bytes", self.memory)  # swap counts too
        self._write("pids", "pids.max", self.pids)

    def _make_v2(self, base: str) -> None:
        path = os.path.join(base, self.name)
        os.mkdir(path)
        self.dirs = {"memory": path, "pids": path}
        self._write("memory", "memory.max", self.memory)
        if os.path.exists(os.path.join(path, "memory.swap.max")):
            self._write("memory", "memory.swap.max", 0)  # swap is not in memory.max: none at all
        self._write("pids", "pids.max", self.pids)

    def _write(self, controller: str, name: str, value: object) -> None:
        _write(os.path.join(self.dirs[controller], name), value)

    def read(self, controller: str, name: str) -> str:
        return _read(os.path.join(self.dirs[controller], name))

    @property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes its pid into to join (one on v2)."""
        return list(dict.fromkeys(os.path.join(self.dirs[c], "cgroup.procs") for c in CONTROLLERS))

    def add(self, pid: int) -> None:
        """Move process ``pid`` (and, as it forks later, its children) into the kernel's cgroups."""
        for path in self.procs_files:
            _write(path, pid)

    def pids_in(self) -> set[int]:
        pids: set[int] = set()
        for path in set(self.dirs.values()):
            try:
                pids |= {int(p) for p in _read(os.path.join(path, "cgroup.procs")).split()}
            except OSError:
                pass
        return pids

    def stats(self) -> dict[str, int | None]:
        """{"limit", "peak", "oom_kills", "pids_max", "pids_refused", "pids_peak"} read from the
        cgroup files of either version (None where this kernel lacks the file)."""
        v1 = self.version == "v1"
        memory_events = "memory.oom_control" if v1 else "memory.events"
        out = {"limit": self._number("memory", "memory.limit_in_bytes" if v1 else "memory.max"),
               "peak": self._number("memory", "memory.max_usage_in_bytes" if v1 else "memory.peak"),
               "oom_kills": self._event("memory", memory_events, "oom_kill"),
               "pids_max": self._number("pids", "pids.max"), "pids_refused": self._event("pids", "pids.events", "max"),
               "pids_peak": self._number("pids", "pids.peak")}
        return out

    def _number(self, controller: str, name: str) -> int | None:
        try:
            text = self.read(controller, name).strip()
        except OSError:
            return None
        return None if text == "max" else int(text)

    def _event(self, controller: str, name: str, key: str) -> int | None:
        try:
            lines = self.read(controller, name).splitlines()
        except OSError:
            return None
        return int(dict(line.split() for line in lines if len(line.split()) == 2).get(key, 0))

    def remove(self, seconds: float = 5.0) -> None:
        """Kill whatever is left in the cgroups and remove them."""
        deadline = time.monotonic() + seconds
        for path in list(dict.fromkeys(self.dirs.values())):
            while os.path.isdir(path):
                self._kill_all(path)
                try:
                    os.rmdir(path)
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.01)
        self.dirs = {c: p for c, p in self.dirs.items() if os.path.isdir(p)}

    def _kill_all(self, path: str) -> None:
        kill = os.path.join(path, "cgroup.kill")  # v2 (Linux 5.14): the whole cgroup at once
        if os.path.exists(kill):
            try:
                _write(kill, 1)
            except OSError:
                pass
        for pid in self.pids_in():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def sweep_stale(parents: dict[str, str]) -> None:
    """Remove kernel cgroups (in the folders ``parents`` maps to) left by grading processes that
    died (a SIGKILLed worker)."""
    for parent in set(parents.values()):
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in names:
            parts = name.split("-")
            if len(parts) == 3 and parts[0] == "grading" and parts[1].isdigit() and not _pid_alive(int(parts[1])):
                stale = KernelCgroup(0, 0)
                stale.dirs = {"x": os.path.join(parent, name)}
                stale.remove(seconds=1.0)
