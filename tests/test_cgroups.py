"""Per-kernel cgroups on every hierarchy (grading/step/cgroups.py), without starting a kernel.

This machine is cgroup v1 (a hybrid: v1 memory and pids, and a cgroup2 mount with no controller
that matters), so the v2 code is tried two ways:
- against a fake cgroup2 tree in a temporary folder that keeps the kernel's rules the code relies
  on (a controller's files appear in a child only when its parent enables it in
  cgroup.subtree_control; a non-root cgroup that enables one may hold no process; a process is in
  one cgroup at a time; cgroupfs makes no file on open; rmdir only of an empty cgroup): the file
  writes and reads, the move into the leaf, delegation failures, stale sweeps;
- on a real cgroup2 filesystem mounted privately (``unshare --mount``, then ``mount -t cgroup2``):
  the leaf move, the launcher joining a cgroup, ``cgroup.kill`` and removal, the stale sweep, and
  the message where controllers are not delegated; the same again without root, by a user whose
  subtree is chowned to it as systemd delegates one, and refused in a subtree that is not. Memory
  and pids controllers themselves cannot be had in v2 here (they are bound to v1), so memory.max
  and pids.max only ever met the fake.
"""
import errno
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from course_helpers import REPO
from grading.settings import Sandbox, parse_size
from grading.step import cgroups, sandbox
from grading.step.cgroups import LEAF, Hierarchy, KernelCgroup

MiB = 1 << 20


def dead_pids(n):
    """Pids of processes that have ended (never signalled by a fake tree's code by mistake)."""
    pids = []
    for _ in range(n):
        proc = subprocess.Popen(["true"])
        proc.wait()
        pids.append(str(proc.pid))
    return pids


class FakeV2:
    """A cgroup2 tree in a folder, with the kernel's rules listed in the module docstring."""

    FILES = {"memory": {"memory.max": "max", "memory.swap.max": "max", "memory.peak": "0",
                        "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"},
             "pids": {"pids.max": "max", "pids.events": "max 0\n", "pids.peak": "0"}}

    def __init__(self, root, controllers=("cpu", "io", "memory", "pids")):
        self.root = Path(root)
        self.root.mkdir()
        self._files(self.root, controllers, is_root=True)
        self.unmovable, self.forks, self.killed = set(), [], []

    def _files(self, path, controllers, is_root=False):
        (path / "cgroup.controllers").write_text(" ".join(controllers) + "\n")
        (path / "cgroup.subtree_control").write_text("\n")
        (path / "cgroup.procs").write_text("")
        (path / "cgroup.kill").write_text("")
        if not is_root:
            (path / "cgroup.type").write_text("domain\n")

    def owns(self, path):
        return Path(path).resolve().is_relative_to(self.root.resolve())

    def procs(self, path):
        return (Path(path) / "cgroup.procs").read_text().split()

    def enabled(self, path):
        return (Path(path) / "cgroup.subtree_control").read_text().split()

    def mkdir(self, path, parent_of_real=os.mkdir):
        path = Path(path)
        parent_of_real(path)
        enabled = self.enabled(path.parent)
        self._files(path, enabled)
        for controller in enabled:
            for name, text in self.FILES.get(controller, {}).items():
                (path / name).write_text(text)

    def rmdir(self, path, real=os.rmdir):
        path = Path(path)
        if self.procs(path) or any(p.is_dir() for p in path.iterdir()):
            raise OSError(errno.EBUSY, "Device or resource busy", str(path))
        for entry in path.iterdir():  # cgroupfs removes its files with the folder
            entry.unlink()
        real(path)

    def write(self, path, value):
        path, value = Path(path), str(value)
        if path.name == "cgroup.procs":
            self._move(path.parent, value)
        elif path.name == "cgroup.subtree_control":
            self._enable(path.parent, value)
        elif path.name == "cgroup.kill":
            self.killed += self.procs(path.parent)
            (path.parent / "cgroup.procs").write_text("")
        elif not path.exists():  # cgroupfs makes no file on open
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        else:
            path.write_text(value)

    def _move(self, target, pid):
        if pid in self.unmovable:
            raise PermissionError(errno.EACCES, "Permission denied")
        if self.enabled(target) and (target / "cgroup.type").exists():
            raise OSError(errno.EBUSY, "Device or resource busy")  # no internal processes
        for procs in self.root.rglob("cgroup.procs"):
            procs.write_text("".join(p + "\n" for p in procs.read_text().split() if p != pid))
        (target / "cgroup.procs").write_text((target / "cgroup.procs").read_text() + pid + "\n")

    def _enable(self, path, value):
        wanted = {w[1:] for w in value.split() if w.startswith("+")}
        if wanted - set((path / "cgroup.controllers").read_text().split()):
            raise OSError(errno.ENOENT, "No such file or directory")
        if self.forks:  # a process of this cgroup forked meanwhile
            pid = self.forks.pop()
            (path / "cgroup.procs").write_text((path / "cgroup.procs").read_text() + pid + "\n")
        if self.procs(path) and (path / "cgroup.type").exists():
            raise OSError(errno.EBUSY, "Device or resource busy")
        (path / "cgroup.subtree_control").write_text(" ".join(sorted(set(self.enabled(path)) | wanted)) + "\n")

    def hierarchy(self, own="/"):
        """What Hierarchy.detect would find on a host whose only cgroup fs is this tree."""
        mountinfo = f"41 23 0:38 / {self.root} rw,relatime - cgroup2 cgroup2 rw\n"
        return Hierarchy.parse(mountinfo, f"0::{own}\n")


@pytest.fixture
def fake(tmp_path, monkeypatch):
    tree = FakeV2(tmp_path / "cgroup")
    real_mkdir, real_rmdir = os.mkdir, os.rmdir
    monkeypatch.setattr(cgroups, "_write", tree.write)
    monkeypatch.setattr(os, "mkdir", lambda p, mode=0o777, **kw: tree.mkdir(p) if tree.owns(p) else
                        real_mkdir(p, mode, **kw))
    monkeypatch.setattr(os, "rmdir", lambda p, **kw: tree.rmdir(p) if tree.owns(p) else real_rmdir(p, **kw))
    return tree


def delegated_scope(tree, pids):
    """A scope below the root, as systemd makes one, holding ``pids`` (the grader, its shell)."""
    tree.write(tree.root / "cgroup.subtree_control", "+memory +pids")
    scope = tree.root / "session-1.scope"
    os.mkdir(scope)
    for pid in pids:
        tree.write(scope / "cgroup.procs", pid)
    return scope


# ----------------------------------------------------------------------------- which hierarchy
MOUNTS_HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 31 0:35 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
CGROUP_HYBRID = "9:name=systemd:/\n8:pids:/a\n4:memory:/process_api/b\n1:cpu,cpuacct:/\n0::/\n"


def test_the_hierarchy_is_read_from_the_mount_table(tmp_path):
    hybrid = Hierarchy.parse(MOUNTS_HYBRID, CGROUP_HYBRID)
    assert hybrid.kind == "hybrid" and hybrid.backend == "v1"
    assert hybrid.v1 == {"memory": ("/sys/fs/cgroup/memory", "/"), "pids": ("/sys/fs/cgroup/pids", "/")}
    assert hybrid.v2 == ("/sys/fs/cgroup/unified", "/") and hybrid.own["memory"] == "/process_api/b"
    v1 = Hierarchy.parse("\n".join(MOUNTS_HYBRID.splitlines()[:5]), CGROUP_HYBRID)
    assert (v1.kind, v1.backend) == ("v1", "v1")
    only_memory = Hierarchy.parse(MOUNTS_HYBRID.splitlines()[1], "4:memory:/\n")
    assert only_memory.backend is None and only_memory.why_not() == "no pids controller is mounted"
    none = Hierarchy.parse(MOUNTS_HYBRID.splitlines()[0], "0::/\n")
    assert (none.kind, none.backend, none.why_not()) == ("none", None, "no cgroup filesystem is mounted")
    cpu_only = Hierarchy.parse(MOUNTS_HYBRID.splitlines()[2], "1:cpu,cpuacct:/\n")  # v1, but not what is needed
    assert (cpu_only.kind, cpu_only.backend) == ("v1", None) and "neither memory nor pids" in cpu_only.describe()
    assert cpu_only.why_not() == "no memory or pids controller is mounted"
    # a pure v2 host (Debian 11 and later): the controllers its root offers decide
    (tmp_path / "with space").mkdir()
    (tmp_path / "with space" / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma misc\n")
    v2 = Hierarchy.parse(f"30 23 0:26 / {tmp_path}/with\\040space rw - cgroup2 cgroup2 rw,nsdelegate\n",
                         "0::/system.slice/grading.service\n")
    assert (v2.kind, v2.backend) == ("v2", "v2") and v2.v2[0] == f"{tmp_path}/with space"
    assert "memory" in v2.v2_controllers and v2.why_not() is None
    (tmp_path / "with space" / "cgroup.controllers").write_text("cpu io\n")
    no_memory = Hierarchy.parse(f"30 23 0:26 / {tmp_path}/with\\040space rw - cgroup2 cgroup2 rw\n", "0::/\n")
    assert no_memory.backend is None and "memory or pids" in no_memory.why_not()


def test_this_machines_hierarchy_is_what_its_cgroup_folders_show():
    found = Hierarchy.detect()
    assert found.kind != "none", "no cgroup filesystem found here: this machine has them"
    for controller, (point, _) in found.v1.items():  # each v1 mount is a cgroup fs of that controller
        assert os.path.isfile(os.path.join(point, "cgroup.procs")), (controller, point)
        assert f" {point} " in Path("/proc/self/mountinfo").read_text()
    if found.v2:
        offered = set(Path(found.v2[0], "cgroup.controllers").read_text().split())
        assert offered == found.v2_controllers
    for controller, parent in found.v1_parents().items():  # our own v1 cgroup lists this process
        assert str(os.getpid()) in Path(parent, "cgroup.procs").read_text().split(), (controller, parent)
    if found.backend == "v1":
        group = KernelCgroup.create(256 * MiB, 20, hierarchy=found)
        try:
            assert group.version == "v1" and set(group.dirs) == {"memory", "pids"}
            assert group.stats()["limit"] == 256 * MiB and group.stats()["pids_max"] == 20
            assert len(group.procs_files) == 2
        finally:
            group.remove()
        assert not any(os.path.exists(d) for d in (group.dirs or {}).values())


# ----------------------------------------------------------------------------- v2 on a fake tree
def test_v2_the_grader_moves_into_a_leaf_and_each_kernel_gets_a_bounded_sibling(fake):
    grader, shell, child = str(os.getpid()), *dead_pids(2)
    scope = delegated_scope(fake, [grader, shell])
    group = KernelCgroup.create(512 * MiB, 32, hierarchy=fake.hierarchy("/session-1.scope"))
    kernel = scope / group.name
    assert group.version == "v2" and group.dirs == {"memory": str(kernel), "pids": str(kernel)}
    # the scope holds no process, and gives memory and pids to its children; everything that was
    # in it (the grader, the shell that started it) is in the leaf
    assert fake.procs(scope) == [] and fake.enabled(scope) == ["memory", "pids"]
    assert sorted(fake.procs(scope / LEAF)) == sorted([grader, shell])
    assert (kernel / "memory.max").read_text() == str(512 * MiB)
    assert (kernel / "memory.swap.max").read_text() == "0"
    assert (kernel / "pids.max").read_text() == "32"
    assert group.procs_files == [str(kernel / "cgroup.procs")]  # one file joins both controllers
    group.add(child)
    assert fake.procs(kernel) == [child] and child not in fake.procs(scope / LEAF)
    assert group.stats() == {"limit": 512 * MiB, "peak": 0, "oom_kills": 0, "pids_max": 32, "pids_refused": 0,
                             "pids_peak": 0}
    (kernel / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 3\noom_kill 2\n")
    (kernel / "pids.events").write_text("max 5\n")
    assert group.stats()["oom_kills"] == 2 and group.stats()["pids_refused"] == 5
    group.remove()
    assert not kernel.exists() and fake.killed == [child] and group.dirs == {}
    assert sorted(p.name for p in scope.iterdir() if p.is_dir()) == [LEAF]


def test_v2_a_grading_process_started_in_the_leaf_uses_the_subtree_as_it_is(fake):
    scope = delegated_scope(fake, [str(os.getpid())])
    first = KernelCgroup.create(256 * MiB, 16, hierarchy=fake.hierarchy("/session-1.scope"))
    leaf_before = fake.procs(scope / LEAF)
    worker = fake.hierarchy(f"/session-1.scope/{LEAF}")  # a worker forked later sits in the leaf
    assert worker.v2_base() == str(scope)
    second = KernelCgroup.create(256 * MiB, 16, hierarchy=worker)
    assert Path(second.dirs["memory"]).parent == scope and second.name != first.name
    assert fake.procs(scope / LEAF) == leaf_before and not (scope / LEAF / LEAF).exists()
    for group in (first, second):
        group.remove()


def test_v2_a_process_forked_during_the_move_is_moved_too(fake):
    scope = delegated_scope(fake, [str(os.getpid())])
    late, = dead_pids(1)
    fake.forks.append(late)  # appears in the scope as controllers are enabled: EBUSY, then again
    group = KernelCgroup.create(256 * MiB, 16, hierarchy=fake.hierarchy("/session-1.scope"))
    assert late in fake.procs(scope / LEAF) and fake.procs(scope) == [] and fake.enabled(scope) == ["memory", "pids"]
    group.remove()


def test_v2_without_delegation_no_cgroup_is_made_and_the_reason_is_said(fake):
    stranger, = dead_pids(1)
    scope = delegated_scope(fake, [str(os.getpid()), stranger])
    fake.unmovable.add(stranger)  # another user's process: not ours to move
    with pytest.raises(OSError, match="not delegated"):
        KernelCgroup.create(256 * MiB, 16, hierarchy=fake.hierarchy("/session-1.scope"))
    assert fake.enabled(scope) == [] and not [p for p in scope.iterdir() if p.name.startswith("grading-") and
                                              p.name != LEAF]
    # a subtree whose parent does not give it the controllers
    other = fake.root / "other.scope"
    os.mkdir(other)
    (other / "cgroup.controllers").write_text("cpu\n")
    with pytest.raises(OSError, match="not given the memory pids controller"):
        KernelCgroup.create(256 * MiB, 16, hierarchy=fake.hierarchy("/other.scope"))


def test_v2_in_the_root_cgroup_processes_stay_where_they_are(fake):
    grader = str(os.getpid())
    fake.write(fake.root / "cgroup.procs", grader)
    group = KernelCgroup.create(256 * MiB, 16, hierarchy=fake.hierarchy("/"))
    assert fake.procs(fake.root) == [grader] and not (fake.root / LEAF).exists()  # the root is exempt
    assert Path(group.dirs["pids"]).parent == fake.root
    group.remove()


def test_v2_kernel_cgroups_of_dead_grading_processes_are_swept(fake):
    scope = delegated_scope(fake, [str(os.getpid())])
    hierarchy = fake.hierarchy("/session-1.scope")
    cgroups.enable_controllers(str(scope))
    dead, left = dead_pids(2)
    for name in (f"grading-{dead}-0", f"grading-{os.getpid()}-999", "grading-notes"):
        os.mkdir(scope / name)
    fake.write(scope / f"grading-{dead}-0" / "cgroup.procs", left)  # a kernel that outlived its grader
    group = KernelCgroup.create(256 * MiB, 16, hierarchy=hierarchy)
    names = sorted(p.name for p in scope.iterdir() if p.is_dir())
    assert names == sorted([LEAF, f"grading-{os.getpid()}-999", "grading-notes", group.name])
    assert left in fake.killed
    group.remove()


# ----------------------------------------------------------------------------- v2 on a real cgroup2
REAL_V2 = textwrap.dedent("""
    import json, os, subprocess, sys, time
    from grading.step import cgroups, sandbox
    from grading.step.cgroups import LEAF, KernelCgroup
    mnt = sys.argv[1]

    def as_delegated_user(base):
        # without root: a subtree chowned to a user, as systemd delegates one (Delegate=yes), and
        # one that is not; the user's process does what a grading process does there
        uid = 2_900_000 + os.getpid() % 1000
        mine, theirs = os.path.join(base, "delegated"), os.path.join(base, "not-delegated")
        for folder in (mine, theirs):
            os.mkdir(folder)
        for name in ("", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"):
            os.chown(os.path.join(mine, name) if name else mine, uid, uid)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            out = {}
            try:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
                while "/delegated" not in open("/proc/self/cgroup").read():  # root moves it in, as systemd
                    time.sleep(0.005)
                try:
                    os.mkdir(os.path.join(theirs, "grading-x-0"))
                except OSError as err:
                    out["not_delegated"] = type(err).__name__
                os.mkdir(os.path.join(mine, LEAF))
                cgroups._move_all(mine, os.path.join(mine, LEAF))
                out["leaf"] = open(os.path.join(mine, LEAF, "cgroup.procs")).read().split()
                out["me"] = str(os.getpid())
                try:
                    cgroups.enable_controllers(mine)
                except OSError as err:
                    out["enable"] = str(err)
                group = KernelCgroup(0, 0)
                path = os.path.join(mine, group.name)
                os.mkdir(path)
                group.version, group.dirs = "v2", {"memory": path, "pids": path}
                kernel = subprocess.Popen(["/bin/sh", "-c", sandbox._LAUNCHER, "sh", *group.procs_files, "--",
                                           "sleep", "60"])
                for _ in range(500):
                    if group.pids_in():
                        break
                    time.sleep(0.01)
                out["joined"] = sorted(group.pids_in()) == [kernel.pid]
                group.remove()
                out["removed"], out["status"] = not os.path.exists(path), kernel.wait(timeout=10)
            except BaseException as err:
                out["error"] = repr(err)
            os.write(w, json.dumps(out).encode())
            os._exit(0)
        os.close(w)
        cgroups._write(os.path.join(mine, "cgroup.procs"), pid)
        os.waitpid(pid, 0)
        with os.fdopen(r) as f:
            return json.loads(f.read())

    subprocess.run(["mount", "-t", "cgroup2", "none", mnt], check=True)
    base = os.path.join(mnt, "grading-test-%d" % os.getpid())
    seen, procs = {}, []
    read = lambda path: sorted(int(p) for p in open(os.path.join(path, "cgroup.procs")).read().split())
    try:
        os.mkdir(base)
        shell = subprocess.Popen(["sleep", "60"])
        procs.append(shell)
        for pid in (shell.pid, os.getpid()):
            cgroups._write(os.path.join(base, "cgroup.procs"), pid)
        seen["before"] = read(base)
        os.mkdir(os.path.join(base, LEAF))
        cgroups._move_all(base, os.path.join(base, LEAF))
        seen["base_after"], seen["leaf_after"] = read(base), read(os.path.join(base, LEAF))
        seen["expected"] = sorted([shell.pid, os.getpid()])
        try:
            cgroups.enable_controllers(base)
        except OSError as err:
            seen["enable"] = str(err)
        group = KernelCgroup(0, 0)
        group.version, path = "v2", os.path.join(base, group.name)
        os.mkdir(path)
        group.dirs = {"memory": path, "pids": path}
        kernel = subprocess.Popen(["/bin/sh", "-c", sandbox._LAUNCHER, "sh", *group.procs_files, "--",
                                   "sh", "-c", "sleep 60 & exec sleep 61"])
        procs.append(kernel)
        for _ in range(500):
            if len(group.pids_in()) == 2:
                break
            time.sleep(0.01)
        seen["joined"], seen["launcher"] = sorted(group.pids_in()), kernel.pid
        group.remove()
        seen["removed"], seen["status"] = not os.path.exists(path), kernel.wait(timeout=10)
        dead = subprocess.Popen(["true"])
        dead.wait()
        stale = os.path.join(base, "grading-%d-0" % dead.pid)
        os.mkdir(stale)
        left = subprocess.Popen(["sleep", "60"])
        procs.append(left)
        cgroups._write(os.path.join(stale, "cgroup.procs"), left.pid)
        cgroups.sweep_stale({"v2": base})
        seen["stale_removed"], seen["stale_status"] = not os.path.exists(stale), left.wait(timeout=10)
        seen["delegated"] = as_delegated_user(base)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        cgroups._write(os.path.join(mnt, "cgroup.procs"), os.getpid())
        for top, dirs, _ in os.walk(base, topdown=False):
            if os.path.exists(os.path.join(top, "cgroup.kill")):
                cgroups._write(os.path.join(top, "cgroup.kill"), 1)
            for _ in range(100):
                try:
                    os.rmdir(top)
                    break
                except OSError:
                    time.sleep(0.01)
        subprocess.run(["umount", mnt], check=True)
    print(json.dumps(seen))
""")


def test_v2_mechanics_on_a_private_cgroup2_mount():
    mnt = tempfile.mkdtemp(prefix="cgroup2-")  # not under pytest's 0700 folder: the delegated user passes
    os.chmod(mnt, 0o755)
    try:
        proc = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, "-c", REAL_V2, mnt],
                              capture_output=True, text=True, timeout=60, cwd=REPO)
    finally:
        os.rmdir(mnt)
    if proc.returncode != 0 and "mount" in proc.stderr and os.geteuid() != 0:
        pytest.fail(f"mounting cgroup2 needs root: {proc.stderr[-500:]}")
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["before"] == seen["expected"]  # the grader and its shell, both in the subtree
    assert seen["base_after"] == [] and seen["leaf_after"] == seen["expected"]  # moved, by the kernel's rules
    # this machine's cgroup2 offers no memory or pids (they are v1's): said, not half-done
    assert "not given the memory pids controller" in seen["enable"], seen
    assert len(seen["joined"]) == 2 and seen["launcher"] in seen["joined"]  # the launcher and its child
    assert seen["removed"] and seen["status"] == -9  # cgroup.kill, then rmdir
    assert seen["stale_removed"] and seen["stale_status"] == -9
    # without root: in a subtree delegated to its user, a grading process moves into its leaf, makes
    # a kernel's cgroup, has the launcher join it, kills and removes it; elsewhere it may not
    mine = seen["delegated"]
    assert "error" not in mine, mine
    assert mine["not_delegated"] == "PermissionError" and mine["leaf"] == [mine["me"]]
    assert "not given the memory pids controller" in mine["enable"]
    assert mine["joined"] and mine["removed"] and mine["status"] == -9


# ----------------------------------------------------------------------------- rlimits and the report
def test_rlimits_follow_the_settings_and_hold_inside_the_sandbox():
    changed = Sandbox(memory_limit="8G", pids_limit=32, cpu_seconds=30, file_size="1M", open_files=100,
                      stack_size="4M")
    assert sandbox.rlimits(changed) == ["--as=8589934592", "--cpu=30", "--nproc=32", "--fsize=1048576",
                                        "--nofile=100", "--stack=4194304", "--core=0"]
    assert "--as=4294967296" in sandbox.rlimits(Sandbox(memory_limit="512M"))  # a kernel maps ~0.9 GiB
    assert "--as=2147483648" in sandbox.rlimits(Sandbox(memory_limit="512M", address_space="2G"))
    reason, seen = sandbox.probe(Sandbox(pids_limit=40, memory_limit="6G", use_cgroup=False, open_files=200))
    assert reason is None, reason
    defaults = Sandbox()
    assert seen["rlimits"] == {"AS": 6 << 30, "NPROC": 40, "NOFILE": 200, "FSIZE": parse_size(defaults.file_size),
                               "CPU": defaults.cpu_seconds, "STACK": parse_size(defaults.stack_size), "CORE": 0}
    assert seen["interfaces"] == ["lo"] and seen["uid"] != 0


def test_python_m_grading_sandbox_says_which_bound_holds_and_why():
    env = dict(os.environ, GRADING_SANDBOX_PIDS="48")
    out = subprocess.run([sys.executable, "-m", "grading.step.sandbox"], capture_output=True, text=True, cwd=REPO,
                         env=env, timeout=120)
    lines = dict(line.split(": ", 1) for line in out.stdout.splitlines())
    assert out.returncode == 0 and lines["sandbox"].startswith("starts"), out
    assert list(lines) == ["sandbox", "user namespaces", "network", "cgroup hierarchy", "memory per kernel",
                           "processes+threads per kernel", "tmpfs files", "per process, in every mode"]
    assert lines["cgroup hierarchy"] == Hierarchy.detect().describe()
    assert lines["network"].startswith("isolated")
    backend = Hierarchy.detect().backend
    if sandbox.limit_mode(Sandbox()) == "cgroup":
        assert f"bound by a cgroup {backend} per kernel" in lines["memory per kernel"]
        assert lines["processes+threads per kernel"].startswith("48, bound by the kernel's cgroup")
    else:
        assert "watchdog" in lines["memory per kernel"]
    assert "NPROC=48" in lines["per process, in every mode"] and "CORE=0" in lines["per process, in every mode"]
    off = subprocess.run([sys.executable, "-m", "grading.step.sandbox"], capture_output=True, text=True, cwd=REPO,
                         env=dict(env, GRADING_SANDBOX_CGROUP="off"), timeout=120)
    lines = dict(line.split(": ", 1) for line in off.stdout.splitlines())
    assert "watchdog" in lines["memory per kernel"] and "Sandbox.use_cgroup is False" in lines["memory per kernel"]
    assert lines["processes+threads per kernel"].startswith("48, by RLIMIT_NPROC")


def test_on_a_systemd_host_an_undelegated_v2_subtree_is_named(tmp_path, monkeypatch):
    systemd, scope = tmp_path / "run-systemd", tmp_path / "session-1.scope"
    scope.mkdir()
    assert cgroups.systemd_delegation(str(scope), str(systemd)) is None  # no systemd: nobody to ask
    systemd.mkdir()
    assert cgroups.systemd_delegation(str(scope), str(systemd)) is False
    try:
        os.setxattr(scope, "trusted.delegate", b"1")  # what systemd sets on a Delegate=yes unit
    except OSError as err:
        pytest.fail(f"trusted.* attributes need root and a file system that keeps them: {err}")
    assert cgroups.systemd_delegation(str(scope), str(systemd)) is True
    monkeypatch.setattr(sandbox, "systemd_delegation", lambda path: False)
    lines = dict(sandbox._memory_lines(Sandbox(), {"version": "v2", "swap": True, "base": str(scope)}, None))
    memory = lines["memory per kernel"]
    assert "cgroup v2 per kernel (memory.max, memory.swap.max = 0, made in " + str(scope) in memory
    assert "NOT delegated" in memory and "Delegate=yes" in memory
