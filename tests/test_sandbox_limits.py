"""The sandbox's claims, each tried from inside a kernel started the way grading starts it
(grading.step.sandbox.SandboxKernelManager and a jupyter_client client): it sees only what it must,
cannot write the host disk, cannot take more than its memory budget with all its processes and
tmpfs files together, cannot run more than pids.max tasks; without cgroups a watchdog bounds it.

Small budgets (GRADING_SANDBOX_MEMORY, GRADING_SANDBOX_PIDS: the environment overrides of
c.Sandbox.memory_limit and pids_limit that nbgrader_config.py applies) keep this fast.
"""
import asyncio
import itertools
import json
import os
import shutil
import sqlite3
import stat
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from course_helpers import REPO
from grading.course import load_config
from grading.hosting import hub
from grading.settings import Sandbox, course_settings, parse_size
from grading.step import sandbox, warm_kernels

MiB = 1 << 20


MANAGERS = {"cold": sandbox.SandboxKernelManager, "warm": warm_kernels.WarmSandboxKernelManager}
_start = {"how": "cold"}


@pytest.fixture(autouse=True, params=sorted(MANAGERS))
def kernel_start(request):
    """Every claim holds for a kernel started cold (bwrap runs a new Python) and for one forked
    from the warm process (grading/step/warm_kernels.py)."""
    _start["how"] = request.param
    yield request.param
    _start["how"] = "cold"


async def _session(workdir, cells, inspect, timeout, config):
    # the course's configuration, as nbgrader hands it on: c.Sandbox.* with the environment's overrides
    km = MANAGERS[_start["how"]](kernel_name="python3", config=load_config() if config is None else config)
    await km.start_kernel(cwd=str(workdir))
    assert _start["how"] == "cold" or km.started_warm, "the kernel did not start warm"
    kc = km.client()
    kc.start_channels()
    outputs, seen = [], {}
    try:
        await kc.wait_for_ready(timeout=60)
        for code in cells:
            out = {"stdout": "", "stderr": "", "error": None, "died": False}

            def hook(msg, out=out):
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    out[content["name"]] += content["text"]
                elif kind == "error":
                    out["error"] = f"{content['ename']}: {content['evalue']}"

            task = asyncio.ensure_future(kc.execute_interactive(code, output_hook=hook, timeout=timeout))
            while True:  # a reply, or the kernel gone (killed for its memory, say)
                done, _ = await asyncio.wait({task}, timeout=0.1)
                if done:
                    task.result()
                    break
                if not await km.is_alive():
                    task.cancel()
                    out["died"] = True
                    break
            outputs.append(out)
            if out["died"]:
                break
        seen = inspect(km) if inspect else {}
        seen["alive"] = await km.is_alive()
        seen["warm"] = getattr(km, "started_warm", False)
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
    seen["box_after"] = os.path.exists(km._box)
    return outputs, seen


def in_kernel(workdir, *cells, inspect=None, timeout=120, config=None):
    """Run cells in one sandboxed kernel (under ``config``, default the course's): ([{stdout,
    stderr, error, died}], what inspect(km) read on the host while the kernel still ran)."""
    # a thread of its own: a browser test earlier in the session may have left an event loop
    # running in this one (Playwright's sync API), and asyncio.run refuses to nest
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _session(workdir, [textwrap.dedent(c) for c in cells], inspect,
                                                 timeout, config)).result()


def last_json(out):
    assert out["error"] is None and not out["died"], out
    return json.loads(out["stdout"].strip().splitlines()[-1])


def _course_copy(root):
    """A stand-in for another course on the machine: source/ with hidden tests, a gradebook."""
    (root / "source" / "conceptual").mkdir(parents=True)
    (root / "source" / "conceptual" / "q1.ipynb").write_text('{"hidden": "assert answer == 42"}')
    (root / "submitted" / "alice" / "conceptual").mkdir(parents=True)
    (root / "submitted" / "alice" / "conceptual" / "q1.ipynb").write_text("{}")
    with sqlite3.connect(root / "gradebook.db") as db:
        db.execute("create table grade (student text, score real)")
        db.execute("insert into grade values ('alice', 10)")
    for path in [root, *root.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)  # as nbgrader leaves them: world-readable
    return root


@pytest.fixture
def other_courses():
    made = [Path(tempfile.mkdtemp(prefix="other-course-", dir="/tmp"))]
    if os.access("/srv", os.W_OK):
        made.append(Path("/srv") / f"other-course-{uuid.uuid4().hex[:8]}")
        made[-1].mkdir()
    try:
        yield [_course_copy(root) for root in made]
    finally:
        for root in made:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def graded_folder(tmp_path):
    """autograded/<student>/<assignment> of a course: the kernel's cwd; a classmate beside it."""
    mine = tmp_path / "course" / "autograded" / "bob" / "conceptual"
    theirs = tmp_path / "course" / "autograded" / "carol" / "conceptual"
    for folder in (mine, theirs):
        folder.mkdir(parents=True)
    (mine / "mine.txt").write_text("bob's own file")
    (theirs / "theirs.txt").write_text("carol's answers")
    (tmp_path / "course" / "gradebook.db").write_text("the course's own gradebook")
    for path in [tmp_path, *tmp_path.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return mine


# may be missing on a machine: the system's files, and the hub's (made by make hub-setup, which
# make test runs first): the exchange and the hub's state (its database, cookie secret); every
# account's home is host_home below
SYSTEM_SECRETS = ("/etc/shadow", "/etc/hostname", "/etc/hosts")
HUB_SECRETS = (hub.EXCHANGE, hub.STATE)


def test_the_kernel_sees_only_the_allow_list(other_courses, graded_folder):
    host_root = [str(p) for p in Path("/root").iterdir()] if os.access("/root", os.R_OK) else []
    host_home = [str(p) for p in itertools.islice(Path("/home").rglob("*"), 200)] if os.path.isdir("/home") else []
    secrets = [str(p) for c in other_courses for p in c.rglob("*") if p.is_file()]
    secrets += [str(REPO / "source" / "conceptual"), str(REPO / "grading" / "sandbox.py"), str(REPO / "Makefile"),
                str(graded_folder.parent.parent / "carol" / "conceptual" / "theirs.txt"),
                str(graded_folder.parent.parent.parent / "gradebook.db"),
                *SYSTEM_SECRETS, *HUB_SECRETS]
    # every secret of this machine's own making exists, so "not found" below means hidden
    assert len(secrets) >= 10 and all(os.path.exists(s) for s in secrets
                                      if s not in SYSTEM_SECRETS + HUB_SECRETS), secrets
    python_dirs = sandbox._python_dirs()
    # the folders leading to the Python installation exist (empty but for that path: the walk
    # below finds no file in them); everything else of /root and /home must be unreadable
    on_the_way = {str(a) for d in python_dirs for a in [Path(d), *Path(d).parents]}
    host_root = [p for p in host_root if p not in on_the_way]
    scaffolding = sorted({p for d in python_dirs + [str(graded_folder)] for p in sandbox._parents(d)} - {"/tmp"})
    host_home = [p for p in host_home if p not in on_the_way and not any(p.startswith(d + "/") for d in python_dirs)]
    code = f"""
        import json, os, sys
        tried = {{}}
        for path in {json.dumps(secrets + host_root + host_home)}:
            try:
                if os.path.isdir(path):
                    os.listdir(path)
                else:
                    open(path, "rb").read(1)
                tried[path] = "READ"
            except OSError as err:
                tried[path] = type(err).__name__
        skip = ("/usr", "/proc", "/dev") + tuple({json.dumps(python_dirs)})
        visible = []  # every file of the sandbox's root outside /usr, /proc, /dev and Python
        for top, dirs, files in os.walk("/"):
            if top.startswith(skip):
                dirs[:] = []
                continue
            dirs[:] = [d for d in dirs if not os.path.join(top, d).startswith(skip)]
            visible += [os.path.join(top, f) for f in files]
        listable = []  # the folders leading to the binds (/root, the course root...) cannot be listed
        for path in {json.dumps(scaffolding)}:
            try:
                os.listdir(path)
                listable.append(path)
            except OSError:
                pass
        print(json.dumps({{"tried": tried, "visible": sorted(visible), "listable": listable,
                           "mine": open("mine.txt").read(), "passwd": open("/etc/passwd").read(), "cwd": os.getcwd(),
                           "roots": sorted(os.listdir("/"))}}))
    """
    out, _ = in_kernel(graded_folder, code)
    seen = last_json(out[0])
    assert seen["mine"] == "bob's own file" and seen["cwd"] == str(graded_folder)  # it works at all
    assert not seen["listable"], seen["listable"]
    read = [p for p, how in seen["tried"].items() if how == "READ"]
    assert not read, f"the kernel read what it must not: {read}"
    assert "root:x:0:0" in seen["passwd"] and "student:x:" in seen["passwd"]
    assert len(seen["passwd"].splitlines()) == 3  # no host account names
    assert not {"srv", "home", "var", "opt", "mnt", "media", "boot"} & set(seen["roots"]), seen["roots"]
    allowed = {"/etc/" + os.path.basename(p) for p in sandbox.ETC_FILES} | {"/etc/passwd", "/etc/group"}
    unexpected = []
    for path in seen["visible"]:
        if path.startswith("/etc/alternatives/") or path in allowed or path == str(graded_folder / "mine.txt"):
            continue
        if path.startswith(sandbox.SANDBOX_MPLCONFIGDIR + "/fontlist-"):
            continue
        if "/grading-kernel-" in path:  # the box: its connection file, accounts and sockets
            continue
        if path.startswith("/tmp/.ipython/"):  # IPython's profile, made by the kernel on its tmpfs
            continue
        unexpected.append(path)
    assert not unexpected, f"files of the host visible in the sandbox: {unexpected}"


def test_the_kernel_cannot_write_the_host_disk(graded_folder):
    before = sorted(p.name for p in graded_folder.iterdir())
    code = """
        import json, os, sys
        from ipykernel.connect import get_connection_file
        box = os.path.dirname(get_connection_file())
        targets = [os.getcwd(), box, os.path.join(box, "sock"), "/etc", "/usr", "/usr/lib", sys.prefix,
                   sys.base_prefix, "/", "/root", "/tmp/matplotlib", "/tmp", "/dev/shm", "/run"]
        wrote = {}
        for folder in targets:
            try:
                with open(os.path.join(folder, "planted.txt"), "w") as f:
                    f.write("x")
                wrote[folder] = "WROTE"
            except OSError as err:
                wrote[folder] = type(err).__name__
        for attack in ("chmod", "rename", "unlink"):
            try:
                sock = os.path.join(box, "sock")
                victim = os.path.join(sock, sorted(os.listdir(sock))[0])
                {"chmod": lambda: os.chmod(sock, 0o777), "rename": lambda: os.rename(victim, victim + ".x"),
                 "unlink": lambda: os.unlink(victim)}[attack]()
                wrote[attack] = "DONE"
            except OSError as err:
                wrote[attack] = type(err).__name__
        mounts = []
        for line in open("/proc/self/mountinfo"):
            left, right = line.split(" - ")
            point, options, fstype = left.split()[4], left.split()[5], right.split()[0]
            if "rw" in options.split(","):
                mounts.append([point, fstype])
        fonts = [f for f in os.listdir("/tmp/matplotlib")]
        import matplotlib.font_manager
        print(json.dumps({"wrote": wrote, "mounts": mounts, "box": box, "fonts": fonts,
                          "fonts_after": sorted(os.listdir("/tmp/matplotlib"))}))
    """
    uid, _ = sandbox.sandbox_user(course_settings(Sandbox))

    def inspect(km):
        sock = os.path.join(km._box, "sock")
        owned = [str(p) for p in Path(km._box).rglob("*")
                 if p.lstat().st_uid == uid and not stat.S_ISSOCK(p.lstat().st_mode)]
        st = os.stat(sock)
        return {"owned": owned, "sock_owner": st.st_uid, "sock_mode": stat.S_IMODE(st.st_mode)}

    out, host = in_kernel(graded_folder, code, inspect=inspect)
    seen = last_json(out[0])
    # the memory mounts by name (the course itself may live under /tmp, as in a CI checkout)
    memory = ("/tmp", "/tmp/matplotlib", "/dev/shm", "/run", "chmod", "rename", "unlink")
    disk = [t for t in seen["wrote"] if t not in memory]
    assert len(disk) >= 10
    assert all(seen["wrote"][t] != "WROTE" for t in disk), seen["wrote"]
    assert all(seen["wrote"][a] != "DONE" for a in ("chmod", "rename", "unlink")), seen["wrote"]
    assert all(seen["wrote"][t] == "WROTE" for t in ("/tmp", "/tmp/matplotlib", "/dev/shm", "/run")), seen["wrote"]
    # every writable mount is memory (tmpfs), proc, or a device; the one host folder (the box's
    # sock, bound for the sockets) is root's and 0755 by then, as the attempts above found
    memory_like = {"tmpfs", "proc", "devtmpfs", "devpts", "mqueue"}
    host_mounts = [p for p, fstype in seen["mounts"] if fstype not in memory_like and not p.startswith("/dev/")]
    assert host_mounts == [os.path.join(seen["box"], "sock")], seen["mounts"]
    assert host["sock_owner"] == 0 and host["sock_mode"] == 0o755 and not host["owned"], host
    assert sorted(p.name for p in graded_folder.iterdir()) == before
    # the grader's font list is there, read-only, and used as is (no rebuild, ~1 s a kernel)
    assert [f for f in seen["fonts"] if f.startswith("fontlist-")], seen["fonts"]
    assert seen["fonts_after"] == sorted(seen["fonts"]) and "generated new fontManager" not in out[0]["stderr"]
    assert not host["box_after"]  # the box is removed after the kernel


def _memory_stats(km):
    # the kernel's cgroup files, v1 or v2 alike (KernelCgroup.stats)
    return {**km.cgroup.stats(), "mode": km.limit_mode, "dirs": dict(km.cgroup.dirs)}


def test_memory_is_bounded_for_all_the_kernels_processes_together(graded_folder, monkeypatch):
    if sandbox.limit_mode(course_settings(Sandbox)) != "cgroup":
        pytest.fail("no per-kernel cgroup can be made here (python -m grading.step.sandbox says why): the "
                    "watchdog test covers this machine; this one needs the memory and pids controllers "
                    "(cgroup v1, or a delegated cgroup v2 subtree)")
    monkeypatch.setenv("GRADING_SANDBOX_MEMORY", "512M")
    children = """
        import json, subprocess, sys
        touch = "b = bytearray(2 << 30)\\nfor i in range(0, len(b), 4096): b[i] = 1\\nprint('all touched')"
        procs = [subprocess.Popen([sys.executable, "-c", touch], stdout=subprocess.PIPE, text=True) for _ in range(3)]
        print(json.dumps([[p.wait(), p.stdout.read()] for p in procs]))
    """
    single = """
        try:
            big = bytearray(5 << 30)
            print("ALLOCATED")
        except MemoryError:
            print("MemoryError")
    """
    out, host = in_kernel(graded_folder, children, single, inspect=_memory_stats)
    results = last_json(out[0])
    assert [code for code, _ in results] == [-9, -9, -9], results  # each killed, none finished
    assert out[1]["stdout"].strip() == "MemoryError", out[1]  # one process alone: the rlimit
    assert host["mode"] == "cgroup" and host["limit"] == 512 * MiB
    assert host["peak"] <= 512 * MiB and host["oom_kills"] >= 3, host
    assert host["alive"], "the kernel itself should outlive its greedy children"
    assert not any(os.path.exists(d) for d in host["dirs"].values()), "the kernel's cgroup was not removed"


def test_files_in_tmp_count_against_the_same_memory_budget(graded_folder, monkeypatch):
    if sandbox.limit_mode(course_settings(Sandbox)) != "cgroup":
        pytest.fail("no per-kernel cgroup can be made here (see the memory test)")
    monkeypatch.setenv("GRADING_SANDBOX_MEMORY", "512M")
    assert parse_size(course_settings(Sandbox).file_size) > 90 * MiB  # each file below is allowed
    # 12 files of 90 MiB (each under the file-size rlimit, c.Sandbox.file_size) in the kernel's /tmp, a tmpfs:
    # no process grows, only the files; past 512 MiB the kernel (the only big process) is killed
    fill = """
        for n in range(12):
            with open(f"/tmp/fill{n}", "wb") as f:
                for _ in range(90):
                    f.write(b"x" * (1 << 20))
        print("WROTE ALL")
    """
    out, host = in_kernel(graded_folder, fill, inspect=_memory_stats)
    assert out[0]["died"] and "WROTE ALL" not in out[0]["stdout"], out[0]
    assert host["peak"] <= 512 * MiB and host["oom_kills"] >= 1, host
    assert not any(os.path.exists(d) for d in host["dirs"].values()), "the kernel's cgroup was not removed"


def test_processes_and_threads_are_bounded_per_kernel(graded_folder, monkeypatch):
    if sandbox.limit_mode(course_settings(Sandbox)) != "cgroup":
        pytest.fail("no per-kernel cgroup can be made here (see the memory test)")
    monkeypatch.setenv("GRADING_SANDBOX_PIDS", "32")
    code = """
        import json, os, threading
        baseline = len(os.listdir("/proc/self/task"))
        stop, started, error = threading.Event(), 0, None
        try:
            for _ in range(200):
                threading.Thread(target=stop.wait, daemon=True).start()
                started += 1
        except RuntimeError as err:
            error = str(err)
        stop.set()  # the threads end: room again, now for processes (a fork bomb)
        for _ in range(300):
            if len(os.listdir("/proc/self/task")) <= baseline:
                break
            threading.Event().wait(0.01)
        r, w = os.pipe()
        forked, refused = 0, None
        try:
            for _ in range(200):
                if os.fork() == 0:
                    os.close(w)
                    os.read(r, 1)  # each child waits for the pipe to close
                    os._exit(0)
                forked += 1
        except OSError as err:
            refused = type(err).__name__
        os.close(w)
        for _ in range(forked):
            os.wait()
        forked = [forked, refused]
        print(json.dumps([baseline, started, error, forked]))
    """

    def inspect(km):
        stats = km.cgroup.stats()
        return {"max": stats["pids_max"], "refused": stats["pids_refused"], "peak": stats["pids_peak"]}

    out, host = in_kernel(graded_folder, code, inspect=inspect, timeout=60)
    baseline, started, error, forked = last_json(out[0])
    assert error is not None and baseline + started <= 32, (baseline, started, error)
    assert started >= 10, "the kernel could not even start a few threads"
    assert forked[1] == "BlockingIOError" and baseline + forked[0] <= 32, (baseline, forked)  # processes too
    # (which of the two bounds refused first, the cgroup's pids.max or the uid's RLIMIT_NPROC of the
    # same size, is a race: the cgroup's refusal count is not asserted, its peak is)
    assert host["max"] == 32 and host["peak"] <= 32, host


def test_without_cgroups_a_watchdog_kills_the_tree_past_the_budget(graded_folder, monkeypatch):
    monkeypatch.setenv("GRADING_SANDBOX_CGROUP", "off")
    monkeypatch.setenv("GRADING_SANDBOX_MEMORY", "400M")
    monkeypatch.setenv("GRADING_SANDBOX_PIDS", "32")
    # the floor without a cgroup: RLIMIT_NPROC of the kernel's own uid caps its threads+processes
    threads = """
        import json, os, threading
        baseline = len(os.listdir("/proc/self/task"))
        stop, started, error = threading.Event(), 0, None
        try:
            for _ in range(200):
                threading.Thread(target=stop.wait, daemon=True).start()
                started += 1
        except RuntimeError as err:
            error = str(err)
        stop.set()
        print(json.dumps([baseline, started, error]))
    """
    code = """
        import subprocess, sys, time
        time.sleep(0.5)  # the threads of the cell before end
        # three processes of 300 MiB each, none over the budget alone, 900 MiB together
        grow = ("import time\\nparts = []\\nfor _ in range(10):\\n"
                "    parts.append(bytearray(30 << 20))\\n"
                "    parts[-1][::4096] = b'x' * len(range(0, 30 << 20, 4096))\\n"
                "    time.sleep(0.05)\\ntime.sleep(60)")
        procs = [subprocess.Popen([sys.executable, "-c", grow]) for _ in range(3)]
        print([p.wait() for p in procs])
    """

    def inspect(km):
        dog = km._watchdog
        return {"mode": km.limit_mode, "cgroup": km.cgroup, "killed": dog.killed, "peak": dog.peak}

    out, host = in_kernel(graded_folder, threads, code, inspect=inspect, timeout=60)
    baseline, started, error = last_json(out[0])
    assert error is not None and baseline + started <= 32 and started >= 10, (baseline, started, error)
    assert host["mode"] == "watchdog" and host["cgroup"] is None
    assert out[1]["died"], f"the kernel tree outlived its budget: {out[1]}"
    assert host["killed"] and 400 * MiB < host["peak"] < 700 * MiB, host
    assert not host["alive"]


# ----------------------------------------------------------------------------- warm kernels only
def _host_view(km):
    """What the host sees of a warm kernel: its descriptors' targets, the warm process's, and
    whether the kernel is in its own cgroup."""
    init = km.provisioner.process.kernel_pid  # pid 1 of the kernel's namespace; the kernel is its child
    kernel = int(Path(f"/proc/{init}/task/{init}/children").read_text().split()[0])
    zygote = next(z for z in warm_kernels._ZYGOTES.values() if z.alive())

    def links(pid):
        found = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                found.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
        return found
    return {"kernel": kernel, "kernel_fds": sorted(links(kernel)), "zygote_fds": sorted(links(zygote.pid)),
            "in_cgroup": km.cgroup is not None and kernel in km.cgroup.pids_in()}


@pytest.mark.parametrize("kernel_start", ["warm"], indirect=True)
def test_a_warm_kernel_has_nothing_of_the_warm_process_or_the_kernel_before(graded_folder, monkeypatch):
    warm_kernels.close_all()  # a warm process started with a secret in the grader's environment
    monkeypatch.setenv("GRADING_TEST_SECRET", "the grader's database password")
    first = """
        import json, os, random, subprocess, numpy
        for path in ("/tmp/left.txt", "/dev/shm/left.txt", "/tmp/matplotlib/left.txt"):
            open(path, "w").write("the first student's")
        status = [line.split(":")[0] + ":" + " ".join(line.split()[1:]) for line in open("/proc/self/status")
                  if line.startswith(("Uid", "Gid", "Groups", "Cap", "NoNewPrivs"))]
        pids = sorted(p for p in os.listdir("/proc") if p.isdigit())
        subprocess.Popen(["sleep", "301"], start_new_session=True)  # left running for the next student
        init_fds = sorted({os.readlink(f"/proc/1/fd/{fd}") for fd in os.listdir("/proc/1/fd")})
        print(json.dumps({"status": status, "pids": pids, "stdin": os.readlink("/proc/self/fd/0"), "init_fds": init_fds,
                          "host": os.listdir("/.host") if os.path.isdir("/.host") else [], "env": sorted(os.environ),
                          "random": [random.random(), numpy.random.rand()]}))
    """
    second = """
        import json, os, random, numpy
        print(json.dumps({"left": [p for p in ("/tmp/left.txt", "/dev/shm/left.txt", "/tmp/matplotlib/left.txt")
                                   if os.path.exists(p)],
                          "pids": sorted(p for p in os.listdir("/proc") if p.isdigit()),
                          "random": [random.random(), numpy.random.rand()]}))
    """
    out, host = in_kernel(graded_folder, first, inspect=_host_view)
    seen = last_json(out[0])
    assert host["warm"] and host["in_cgroup"] == (sandbox.limit_mode(course_settings(Sandbox)) == "cgroup")
    uid, gid = sandbox.sandbox_user(course_settings(Sandbox))
    assert f"Uid:{uid} {uid} {uid} {uid}" in seen["status"] and f"Gid:{gid} {gid} {gid} {gid}" in seen["status"]
    assert "Groups:" in seen["status"] and "NoNewPrivs:1" in seen["status"], seen["status"]
    caps = [s for s in seen["status"] if s.startswith("Cap")]
    assert len(caps) == 5 and all(s.endswith(":0000000000000000") for s in caps), caps
    assert seen["pids"] == ["1", "2"], seen["pids"]  # its own PID namespace: its init and itself
    assert seen["stdin"] == "/dev/null" and seen["host"] == [] and seen["init_fds"] == ["/dev/null"], seen
    # no descriptor of the warm process (its socket to the grader) is open in the kernel
    shared = [t for t in set(host["kernel_fds"]) & set(host["zygote_fds"]) if t.startswith(("socket:", "pipe:"))]
    assert not shared, shared
    assert "GRADING_TEST_SECRET" not in seen["env"] and set(sandbox.kernel_environment()) <= set(seen["env"])

    out, _ = in_kernel(graded_folder.parent.parent / "carol" / "conceptual", second)
    after = last_json(out[0])
    assert after["left"] == [] and after["pids"] == ["1", "2"], after  # nothing of the first student
    assert after["random"][0] != seen["random"][0] and after["random"][1] != seen["random"][1]
    assert not [p for p in _processes() if p == ["sleep", "301"]], "the first kernel's process outlived it"


def _processes():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            found.append(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1])
        except OSError:
            pass
    return found


@pytest.mark.parametrize("kernel_start", ["warm"], indirect=True)
def test_warm_kernels_die_with_their_warm_process(graded_folder):
    def kill_the_warm_process(km):
        zygote = next(z for z in warm_kernels._ZYGOTES.values() if z.alive())
        os.kill(zygote.pid, 9)
        process = km.provisioner.process
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return {"kernel_died": process.poll() is not None}

    out, host = in_kernel(graded_folder, "print('up')", inspect=kill_the_warm_process)
    assert out[0]["stdout"].strip() == "up" and host["kernel_died"], host
    out, host = in_kernel(graded_folder, "print('up again')", inspect=lambda km: {})
    assert out[0]["stdout"].strip() == "up again" and host["warm"]  # a new warm process


@pytest.mark.parametrize("kernel_start", ["warm"], indirect=True)
def test_a_warm_process_outlives_the_thread_that_started_it(graded_folder):
    # in_kernel runs each kernel in a thread of its own that ends with it; bwrap's --die-with-parent
    # follows the thread that forked, so a warm process forked there would die with it
    warm_kernels.close_all()

    def warm_pid(km):
        return {"zygote": next(z.pid for z in warm_kernels._ZYGOTES.values() if z.alive())}

    _, first = in_kernel(graded_folder, "print(1)", inspect=warm_pid)
    time.sleep(1.0)  # the starting thread has ended; a parent-death signal would have come by now
    assert os.path.exists(f"/proc/{first['zygote']}"), "the warm process died with the thread that started it"
    _, second = in_kernel(graded_folder, "print(2)", inspect=warm_pid)
    assert first["warm"] and second["warm"] and second["zygote"] == first["zygote"], (first, second)


@pytest.mark.parametrize("kernel_start", ["warm"], indirect=True)
def test_a_kernel_is_given_its_graded_folder_alone_or_starts_cold():
    assert warm_kernels.kernel_place("/tmp/x/course/autograded/bob/conceptual") is None  # its /tmp is private
    assert warm_kernels.kernel_place("/srv/course/autograded/bob/conceptual") == "/srv/course/autograded"
    python = sandbox._python_dirs()[0]
    for folder in (python + "/a/b", "/usr/share/x", "/a/b"):  # a tmpfs there would hide Python or /usr
        with pytest.raises(warm_kernels.WarmStartError):
            warm_kernels.kernel_place(folder)


def test_the_network_is_loopback_only_and_ptys_are_the_kernels_own(graded_folder):
    code = """
        import errno, json, os, pty, socket
        seen = {}
        for name, address in (("loopback", ("127.0.0.1", 9)), ("outside", ("10.0.0.1", 80))):
            try:
                socket.create_connection(address, timeout=2)
                seen[name] = "CONNECTED"
            except OSError as err:
                seen[name] = errno.errorcode.get(err.errno, str(err))
        pty.openpty()
        seen["pts"] = sorted(os.listdir("/dev/pts"))
        print(json.dumps(seen))
    """
    out, _ = in_kernel(graded_folder, code)
    seen = last_json(out[0])
    assert seen["loopback"] == "ECONNREFUSED" and seen["outside"] == "ENETUNREACH", seen
    assert seen["pts"] == ["0", "ptmx"], seen  # only the pty it opened: a devpts of its own


@pytest.mark.parametrize("kernel_start", ["cold"], indirect=True)
def test_a_kernel_whose_warm_process_cannot_start_starts_cold(graded_folder, monkeypatch, caplog):
    warm_kernels.close_all()
    monkeypatch.setattr(warm_kernels, "_ZYGOTE_SOURCE", "raise SystemExit('no warm process here')")
    monkeypatch.setitem(MANAGERS, "cold", warm_kernels.WarmSandboxKernelManager)
    out, host = in_kernel(graded_folder, "import os; print(os.getuid())", inspect=lambda km: {})
    assert not host["warm"] and out[0]["stdout"].strip() == str(sandbox.sandbox_user(course_settings(Sandbox))[0])
    assert "starts cold (the warm process ended: no warm process here)" in caplog.text


@pytest.mark.parametrize("changed", [{}, {"address_space": "5G", "cpu_seconds": 60, "file_size": "8M",
                                          "open_files": 128, "stack_size": "4M", "pids_limit": 48}],
                         ids=["defaults", "changed"])
def test_the_kernel_has_the_sandboxs_rlimits(graded_folder, changed):
    config = load_config()
    config.Sandbox.update(changed)
    settings = Sandbox(config=config)
    expected = {"RLIMIT_AS": max(settings.memory_bytes, parse_size(settings.address_space)),
                "RLIMIT_CPU": settings.cpu_seconds, "RLIMIT_NPROC": settings.pids_limit,
                "RLIMIT_FSIZE": parse_size(settings.file_size), "RLIMIT_NOFILE": settings.open_files,
                "RLIMIT_STACK": parse_size(settings.stack_size), "RLIMIT_CORE": 0}
    code = f"""
        import json, os, resource
        limits = {{name: resource.getrlimit(getattr(resource, name)) for name in {sorted(expected)!r}}}
        print(json.dumps({{"limits": limits, "open": len(os.listdir("/proc/self/fd"))}}))
    """
    out, _ = in_kernel(graded_folder, code, config=config)
    seen = last_json(out[0])
    assert {k: tuple(v) for k, v in seen["limits"].items()} == {k: (v, v) for k, v in expected.items()}
    assert seen["open"] < 64  # the least Sandbox.open_files accepts
