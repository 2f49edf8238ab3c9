"""Grading speed, counted over every process (the sandboxed kernels and the warm process too).

CPU is read from a cpuacct cgroup (v1) that this process creates and joins before it starts
anything: every process it starts afterwards (grading workers, bwrap, kernels, the warm
process) is counted, killed ones included (``getrusage`` misses kernels bwrap never reaps).
Where no cpuacct cgroup can be made, CPU is not reported.

1. **per submission** (``BENCH_SPEED_SAMPLE`` submissions, default 19: one of each kind of the
   sample class), graded one at a time in this process, cold kernels then warm kernels
   (``c.Sandbox.warm_start``): wall and CPU medians, and where the CPU goes (kernel start and
   handshake, the imports cell, the students' cells, the other cells, the test cells,
   nbgrader's own work), plus the grades of each kind.
2. **the class** (``BENCH_SPEED_CLASS`` submissions, default 300) graded by the runner with one
   worker per core, warm: wall, CPU, CPU per submission; every submission's grades against its
   kind's grades from step 1, graded cold (the runner's grades equal stock nbgrader's: the class
   section and tests/test_runner.py check that).
"""
import os
import statistics
import sys
import time
from pathlib import Path

from course_helpers import course_env, grade_table, synthetic_class  # tests/, on the path by bench/__main__.py
from grading.course import copy_course

SAMPLE = int(os.environ.get("BENCH_SPEED_SAMPLE", "19"))  # one of each kind of the sample class
CLASS = int(os.environ.get("BENCH_SPEED_CLASS", "300"))
CPUACCT = "/sys/fs/cgroup/cpuacct"
Grades = dict[str, tuple[float, float]]  # one student's {grade_id: (score, max_score)} (grade_table)


class CpuClock:
    """CPU seconds of this process and every process it starts, from a cpuacct cgroup."""

    def __init__(self):
        self.path = None
        try:
            path = os.path.join(CPUACCT, f"grading-bench-{os.getpid()}")
            os.makedirs(path, exist_ok=True)
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
            self.path = path
        except OSError as err:
            print(f"  (no cpuacct cgroup here: {err}; CPU not counted)")

    def __call__(self):
        if self.path is None:
            return float("nan")
        with open(os.path.join(self.path, "cpuacct.usage")) as f:
            return int(f.read()) / 1e9

    def close(self):
        if self.path:
            try:
                with open(os.path.join(CPUACCT, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
                os.rmdir(self.path)
            except OSError:
                pass


PARTS = ["kernel start, handshake, stop", "imports cell", "students' cells", "other cells", "test cells",
         "nbgrader, gradebook, files"]


class Breakdown:
    """CPU per part of a grading, by wrapping the Execute preprocessor's steps with the clock."""

    def __init__(self, clock):
        self.clock, self.parts, self.walls = clock, dict.fromkeys(PARTS, 0.0), dict.fromkeys(PARTS, 0.0)

    def add(self, part, cpu, wall):
        self.parts[part] += self.clock() - cpu
        self.walls[part] += time.perf_counter() - wall

    def install(self):
        from nbclient import NotebookClient
        from nbclient.util import run_sync

        from grading.cells import is_test_cell
        from grading.step.execute import SandboxedExecute
        breakdown = self
        start_kernel = NotebookClient.async_start_new_kernel
        start_client = NotebookClient.async_start_new_kernel_client
        execute_cell = SandboxedExecute.async_execute_cell
        stop = NotebookClient._async_cleanup_kernel

        async def timed_start(self, **kw):
            before = breakdown.clock(), time.perf_counter()
            try:
                return await start_kernel(self, **kw)
            finally:
                breakdown.add("kernel start, handshake, stop", *before)

        async def timed_client(self):
            before = breakdown.clock(), time.perf_counter()
            try:
                return await start_client(self)
            finally:
                breakdown.add("kernel start, handshake, stop", *before)

        async def timed_stop(self):
            before = breakdown.clock(), time.perf_counter()
            try:
                return await stop(self)
            finally:
                breakdown.add("kernel start, handshake, stop", *before)

        async def timed_cell(self, cell, cell_index, *args, **kw):
            before = breakdown.clock(), time.perf_counter()
            try:
                return await execute_cell(self, cell, cell_index, *args, **kw)
            finally:
                breakdown.add(breakdown.kind(self, cell, is_test_cell), *before)

        # the sync wrappers nbconvert calls were bound when the classes were made: replaced too
        saved = [(NotebookClient, name, getattr(NotebookClient, name)) for name in
                 ("async_start_new_kernel", "start_new_kernel", "async_start_new_kernel_client",
                  "start_new_kernel_client", "_async_cleanup_kernel", "_cleanup_kernel")]
        saved += [(SandboxedExecute, name, SandboxedExecute.__dict__[name]) for name in
                  ("async_execute_cell", "execute_cell")]
        timed = [(NotebookClient, "async_start_new_kernel", timed_start),
                 (NotebookClient, "start_new_kernel", run_sync(timed_start)),
                 (NotebookClient, "async_start_new_kernel_client", timed_client),
                 (NotebookClient, "start_new_kernel_client", run_sync(timed_client)),
                 (NotebookClient, "_async_cleanup_kernel", timed_stop),
                 (NotebookClient, "_cleanup_kernel", run_sync(timed_stop)),
                 (SandboxedExecute, "async_execute_cell", timed_cell),
                 (SandboxedExecute, "execute_cell", run_sync(timed_cell))]
        for cls, name, value in timed:
            setattr(cls, name, value)

        def restore():
            for cls, name, value in saved:
                setattr(cls, name, value)
        self.restore = restore
        return self

    @staticmethod
    def kind(execute, cell, is_test_cell):
        if cell.cell_type != "code":
            return "other cells"
        if is_test_cell(cell):
            return "test cells"
        if (cell.metadata.get("nbgrader") or {}).get("solution"):
            return "students' cells"
        code = [c for c in execute.nb.cells if c.cell_type == "code"]
        return "imports cell" if code and code[0] is cell else "other cells"

    def take(self):
        parts, walls = self.parts, self.walls
        self.parts, self.walls = dict.fromkeys(PARTS, 0.0), dict.fromkeys(PARTS, 0.0)
        return parts, walls


def per_submission(clock, root, warm, students):
    """Grade ``students`` one at a time in this process: [(wall, cpu, parts)] and the grades."""
    from grading.batch import runner, worker
    os.environ["GRADING_WARM_START"] = "1" if warm else "0"
    runner.add_students(students, f"sqlite:///{root}/gradebook.db")
    worker.grade_student(students[0], root=str(root))  # warm-up: imports, the first kernel (or warm process)
    breakdown = Breakdown(clock).install()
    rows = []
    try:
        for student in students:
            breakdown.take()
            cpu, start = clock(), time.perf_counter()
            result = worker.grade_student(student, root=str(root))
            wall, cpu = time.perf_counter() - start, clock() - cpu
            assert result.success, result.error
            parts, walls = breakdown.take()
            parts["nbgrader, gradebook, files"] = cpu - sum(parts.values())
            walls["nbgrader, gradebook, files"] = wall - sum(walls.values())
            rows.append((wall, cpu, parts, walls))
    finally:
        breakdown.restore()
    return rows


def _median_parts(rows, index=2):
    return {part: statistics.median(r[index][part] for r in rows) for part in PARTS}


def print_per_submission(cold, warm):
    print(f"  one submission (4 notebooks), graded alone in one process; medians of {len(cold)}:")
    print(f"    {'':32s} {'cold kernels':>13s} {'warm kernels':>13s} {'warm, wall s':>13s}")
    for label, index in (("wall s", 0), ("CPU s, all processes", 1)):
        c, w = statistics.median(r[index] for r in cold), statistics.median(r[index] for r in warm)
        print(f"    {label:32s} {c:13.2f} {w:13.2f}")
    cp, wp, ww = _median_parts(cold), _median_parts(warm), _median_parts(warm, 3)
    print("    where the CPU goes (medians per part, so they need not add up):")
    for part in PARTS:
        print(f"      {part:30s} {cp[part]:13.2f} {wp[part]:13.2f} {ww[part]:13.2f}")


def kind_grades(root, of):
    """{kind: its grades} from a graded course copy, where every student of a kind agrees."""
    table = grade_table(root)
    kinds: dict[str, list[Grades]] = {}
    for student, kind in of.items():
        if student in table:
            kinds.setdefault(kind, []).append(table[student])
    return {kind: grades for kind, grades in kinds.items()}


def bench_speed(tmp):
    clock = CpuClock()
    cwd = os.getcwd()
    try:
        kinds: dict[bool, dict[str, list[Grades]]] = {}  # {warm: kind_grades}
        rows = {}
        for warm in (False, True):
            root = copy_course(Path(tmp) / ("warm" if warm else "cold"))
            of = synthetic_class(root, SAMPLE)
            rows[warm] = per_submission(clock, root, warm, sorted(of))
            os.chdir(cwd)
            kinds[warm] = kind_grades(root, of)
        print(f"speed: a submission of 4 notebooks, CPU over all processes (kernels included); "
              f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} (the machine is shared)")
        print_per_submission(rows[False], rows[True])
        same = all(len({repr(g) for g in grades}) == 1 for grades in kinds[False].values())
        same = same and {k: g[0] for k, g in kinds[False].items()} == {k: g[0] for k, g in kinds[True].items()}
        print(f"    grades of every kind identical cold and warm: {'yes' if same else 'NO'}")

        if CLASS:
            bench_class(clock, tmp, kinds[False])
    finally:
        os.chdir(cwd)
        clock.close()


def bench_class(clock, tmp, cold_kinds):
    """Step 2: the class, graded by the runner, warm."""
    import subprocess
    root = copy_course(Path(tmp) / "class")
    of = synthetic_class(root, CLASS)
    workers = os.cpu_count() or 1
    env = course_env(GRADING_WARM_START="1", GRADING_WORKERS=str(workers))
    cpu, start = clock(), time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "grading.batch.runner"], cwd=root, env=env, capture_output=True,
                          text=True)
    wall, cpu = time.perf_counter() - start, clock() - cpu
    reference = {k: g[0] for k, g in cold_kinds.items()}
    table = grade_table(root)
    compared = [s for s, k in of.items() if k in reference]
    wrong = sorted(s for s in compared if table.get(s) != reference[of[s]])
    print(f"  the class: {CLASS} submissions x 4 notebooks, the runner with {workers} workers, warm kernels "
          f"(exit {proc.returncode}):")
    print(f"    wall {wall:6.1f} s ({wall / 60:.1f} min; target <= 8 min), CPU {cpu:7.1f} s over all processes, "
          f"{cpu / CLASS:.2f} s CPU and {wall * workers / CLASS:.2f} s of a core's wall per submission")
    verdict = "yes" if not wrong else "NO: " + ", ".join(wrong[:10])
    print(f"    graded as its kind was graded cold, one at a time: {verdict} ({len(compared)} of {CLASS} "
          f"submissions compared: those of the {len(reference)} kinds graded above)")
