"""Grade a whole class in parallel: nbgrader autograde in long-lived worker processes.

nbgrader grades one student after another (its issue #174). This runner fans the students out
over an executor it is given (local worker processes by default; a Dask cluster when the
environment asks for one, see make_executor and grading/distributed.py), each worker calling
``NbGraderAPI.autograde`` for one student at a time into the one gradebook. Every result is
checked; a failed student is retried once, then reported by name with the reason. A local worker
process that dies (the out-of-memory killer's SIGKILL, say) breaks the process pool: the pool is
rebuilt, the student it was grading is charged one attempt (each task leaves a marker naming its
worker's pid; the worker that died by itself, not by the pool's SIGTERM to the rest, names the
student), the others whose tasks broke with the pool go again for free, and the batch goes on. Notebooks a
student broke (not JSON, not a notebook) are named with what to do, scored 0 like a missing
notebook, and the student's other notebooks are still graded.

    python -m grading.runner [--workers N] [--student ID ...]
"""
import argparse
import concurrent.futures
from concurrent.futures.process import BrokenProcessPool
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grading.course import ASSIGNMENT, COURSE_ROOT, notebook_names


@dataclass
class NotebookProblem:
    student: str
    notebook: str
    reason: str
    advice: str
    kind: str  # "missing", "unreadable" (both score 0), "old_format" (graded after conversion) or
    # "malformed_metadata" (graded; the cells nbgrader cannot read are ordinary cells)

    def __str__(self):
        return f"{self.student}: {self.notebook}.ipynb {self.reason} -- {self.advice}"


@dataclass
class StudentResult:
    student: str
    success: bool
    seconds: float = 0.0
    error: str = ""
    attempts: int = 1


@dataclass
class ClassResult:
    graded: list = field(default_factory=list)  # StudentResult that succeeded
    failed: list = field(default_factory=list)  # StudentResult that failed twice
    problems: list = field(default_factory=list)  # NotebookProblem, the students' own mistakes
    seconds: float = 0.0

    @property
    def ok(self):
        return not self.failed


# ----------------------------------------------------------------------------- submissions
def find_students(submitted):
    """Student ids with a submission of the assignment, sorted."""
    return sorted(p.parent.name for p in Path(submitted).glob(f"*/{ASSIGNMENT}") if p.is_dir())


def check_submission(student, submitted, expected):
    """(readable notebook names, problems) for one student's submission folder."""
    import nbformat
    from grading.master_cells import malformed_cells
    folder = Path(submitted) / student / ASSIGNMENT
    readable, problems = [], []
    present = {p.stem for p in folder.glob("*.ipynb")}
    for name in expected:
        path = folder / f"{name}.ipynb"
        if name not in present:
            others = sorted(present - set(expected))
            advice = (f"found {', '.join(o + '.ipynb' for o in others)} instead: keep the released file names"
                      if others else "submit the released notebook under its released name")
            problems.append(NotebookProblem(student, name, "is missing (scored 0)", advice, "missing"))
            continue
        try:
            nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
            version = nb.get("nbformat", 0)
            if version < 4:  # nbgrader converts it on reading; say so, grade it
                nbformat.validate(nbformat.convert(nb, 4))
                problems.append(NotebookProblem(
                    student, name, f"is in the old notebook format {version} (converted to 4 and graded)",
                    "nothing to do; an up-to-date JupyterLab saves format 4", "old_format"))
            else:
                nbformat.validate(nb)
            malformed = malformed_cells(nbformat.convert(nb, 4) if version < 4 else nb)
            if malformed:
                problems.append(NotebookProblem(
                    student, name, f"has cells whose nbgrader metadata is not readable (cells "
                    f"{', '.join(str(i + 1) for i in malformed)}: graded as ordinary cells, instructor cells put back)",
                    "the notebook's cell metadata was edited by hand or by another tool: ask the student to copy "
                    "their answers into a fresh copy of the released notebook and resubmit", "malformed_metadata"))
        except Exception as err:  # any reason the file is not a notebook we can grade
            if type(err).__name__ == "NotJSONError":
                reason = "it is not valid JSON"
            else:
                reason = (str(err).splitlines() or [type(err).__name__])[0][:160]
            problems.append(NotebookProblem(
                student, name, f"could not be read as a notebook ({reason}); scored 0",
                "the file is damaged: ask the student to re-download it from JupyterLab (File > Download) "
                "and resubmit", "unreadable"))
            continue
        readable.append(name)
    return readable, problems


# ----------------------------------------------------------------------------- worker side
_API = None


def quiet_known_noise():
    """Known-harmless warnings, silenced: SQLAlchemy's "not in session" SAWarning, which nbgrader
    0.9 triggers whenever a submission is first created, and nbformat's missing-id warning on
    notebooks saved by old JupyterLab versions. Neither affects a grade."""
    import warnings
    warnings.filterwarnings("ignore", message=".*not in session.*")
    warnings.filterwarnings("ignore", message="Cell is missing an id field")


def _init_worker(root):
    """Runs once per worker process: pay nbgrader's imports and configuration once."""
    global _API
    quiet_known_noise()
    os.chdir(root)
    if root not in sys.path:
        sys.path.insert(0, root)
    from grading.course import nbgrader_api
    _API = nbgrader_api(Path(root))


def grade_student(student, notebooks=None, root=str(COURSE_ROOT)):
    """Autograde one student (all notebooks, or only the named ones). Returns a StudentResult."""
    if _API is None:
        _init_worker(root)
    from nbgrader.api import Gradebook
    from nbgrader.utils import temp_attrs
    from grading.manual_grades import manual_answers, settle_unchanged
    start = time.perf_counter()
    graded = Path(_API.coursedir.root) / "autograded" / student / ASSIGNMENT
    before = manual_answers(graded)  # what graders saw, if this is a regrade
    runs = [None] if notebooks is None else list(notebooks)
    errors = []
    for notebook in runs:
        attrs = {} if notebook is None else {"notebook_id": notebook}
        with temp_attrs(_API.coursedir, **attrs):
            result = _API.autograde(ASSIGNMENT, student, force=True, create=False)
        if not result.get("success"):
            errors.append(_summarise_error(result))
    if before and not errors:
        with Gradebook(_API.coursedir.db_url) as gb:
            settle_unchanged(gb, student, before, manual_answers(graded))
    return StudentResult(student, not errors, time.perf_counter() - start, "; ".join(errors))


def _summarise_error(result):
    text = (result.get("error") or result.get("log") or "unknown error").strip().splitlines()
    lines = [l for l in text if l.strip() and "Traceback" not in l]
    return lines[-1].strip() if lines else "unknown error"


# ----------------------------------------------------------------------------- coordinator side
def local_executor(workers=None):
    """Long-lived local worker processes (the embedded default)."""
    workers = workers or os.cpu_count() or 1
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker, initargs=(str(COURSE_ROOT),))


def make_executor(workers=None):
    """The executor the configuration asks for, with no code change for the instructor:
    DASK_SCHEDULER_ADDRESS (a Dask cluster) or GRADING_EXECUTOR=dask (a local Dask cluster), else
    local worker processes (the default; see docs/scaling.md)."""
    kind = os.environ.get("GRADING_EXECUTOR", "").strip().lower() or "local"
    if kind not in {"local", "dask"}:
        raise SystemExit(f"GRADING_EXECUTOR={kind!r}: use 'local' (the default) or 'dask'")
    if os.environ.get("DASK_SCHEDULER_ADDRESS") or kind == "dask":
        from grading.distributed import dask_executor
        return dask_executor(workers)
    return local_executor(workers)


class Progress:
    """One status line: done / total, failures, time left. Rewritten in place on a terminal."""

    def __init__(self, total, stream=sys.stderr):
        self.total, self.stream, self.start = total, stream, time.perf_counter()
        self.done = self.failed = 0
        self.tty = stream.isatty()

    def update(self, result, retrying=False):
        if not retrying:
            self.done += 1
            self.failed += not result.success
        elapsed = time.perf_counter() - self.start
        left = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        status = "retrying" if retrying else ("ok" if result.success else "FAILED")
        line = (f"graded {self.done}/{self.total} | failures {self.failed} | {elapsed:5.1f}s elapsed, "
                f"~{left:4.1f}s left | {result.student}: {status}")
        self.stream.write(("\r\033[K" + line) if self.tty else line + "\n")
        self.stream.flush()

    def close(self):
        if self.tty:
            self.stream.write("\n")


def add_students(students, db_url):
    """Create every student before the fan-out. nbgrader checks whether a student exists, then
    inserts: measured with 8 processes creating the same new student at once, 2 to 7 of 8 failed
    (UniqueViolation on PostgreSQL, UNIQUE constraint failed on SQLite). So students are added
    here, once, and workers grade with create=False."""
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        for student in students:
            gb.update_or_create_student(student)


def zero_notebooks(problems, db_url):
    """Score 0 for notebooks that could not be graded, as nbgrader does for missing ones."""
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(db_url) as gb:
        for p in problems:
            try:
                nb = gb.find_submission_notebook(p.notebook, ASSIGNMENT, p.student)
            except MissingEntry:  # nothing of this student could be graded: record the zeros
                gb.update_or_create_submission(ASSIGNMENT, p.student)
                nb = gb.find_submission_notebook(p.notebook, ASSIGNMENT, p.student)
            for grade in nb.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gb.db.commit()


class SandboxUnavailable(RuntimeError):
    pass


def require_sandbox():
    """Refuse to grade, before anything starts, where the sandbox cannot run (unless switched off)."""
    from grading import sandbox
    if not sandbox.enabled():
        print("WARNING: grading WITHOUT the sandbox (GRADING_SANDBOX=off): student code runs as you "
              "and can read source/, the gradebook and the network.", file=sys.stderr)
        return
    reason = sandbox.problem()
    if reason:
        raise SandboxUnavailable(
            f"Grading refused: the sandbox that keeps student code away from source/, the gradebook, "
            f"other students and the network cannot start here: {reason}.\n"
            "Either install it (Debian: apt-get install bubblewrap), or grade without it, knowing that "
            "student code then runs as you: GRADING_SANDBOX=off make autograde")


def _tracked(markers, task, student, *args):
    """Run ``task(student, *args)`` in a worker, with a marker naming the worker's pid while it
    runs: if the worker dies, the marker left behind says whose task it was running."""
    marker = Path(markers) / student
    marker.write_text(str(os.getpid()))
    # test hook (tests/test_runner.py): GRADING_TEST_KILL_WORKER=STUDENT:FLAGFILE SIGKILLs the
    # worker grading STUDENT once, as the out-of-memory killer would, and creates FLAGFILE
    victim, _, flag = os.environ.get("GRADING_TEST_KILL_WORKER", "").partition(":")
    if victim == student and flag and not os.path.exists(flag):
        Path(flag).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    try:
        return task(student, *args)
    finally:
        marker.unlink(missing_ok=True)


def _worker_deaths(markers, processes):
    """{student: exit code} of the tasks whose worker died by itself (not the pool's own SIGTERM
    to its other workers once it broke): read from the markers left behind."""
    deaths = {}
    for marker in Path(markers).iterdir():
        try:
            pid = int(marker.read_text())
        except (OSError, ValueError):
            continue
        process = processes.get(pid)
        code = process.exitcode if process is not None else None
        if process is None:  # not one of the pool's processes as we saw them: dead or alive?
            try:
                os.kill(pid, 0)
                continue
            except ProcessLookupError:
                code = "unknown"
        if code is not None and code != -signal.SIGTERM:
            deaths[marker.name] = code
    return deaths


def _death_message(code):
    if isinstance(code, int) and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (the out-of-memory killer sends SIGKILL)" if -code == signal.SIGKILL else ""
        return f"the worker process grading this student died of {name}{hint}"
    return f"the worker process grading this student died (exit code {code})"


def _fan_out(pool, jobs, retries, progress, task=None, rebuild=None):
    """Run ``task(student, *jobs[student])`` (default grade_student) for every student on
    ``pool["executor"]``; (graded, failed) lists of StudentResult. A failed student is retried up
    to ``retries`` times. A local pool whose worker dies (SIGKILL, as the out-of-memory killer
    sends) breaks: every pending future raises BrokenProcessPool. With ``rebuild`` (a function
    making a new pool) the pool is rebuilt, the student whose worker died is charged an attempt,
    the others whose futures broke are resubmitted for free, and the batch goes on."""
    task = task or grade_student
    markers = tempfile.mkdtemp(prefix="grading-markers-")
    attempts = {s: 1 for s in jobs}
    graded, failed = [], []

    def submit(student):
        if rebuild is None:
            return pool["executor"].submit(task, student, *jobs[student])
        return pool["executor"].submit(_tracked, markers, task, student, *jobs[student])

    def finish(student, result):
        """A result (success or failure) of one attempt; True if the student goes again."""
        result.attempts = attempts[student]
        if not result.success and attempts[student] <= retries:
            attempts[student] += 1
            progress.update(result, retrying=True)
            return True
        (graded if result.success else failed).append(result)
        progress.update(result)
        return False

    try:
        pending = {submit(s): s for s in jobs}
        while pending:
            done, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            broken, again = [], []
            for future in done:
                student = pending.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool as err:
                    if rebuild is not None:
                        broken.append(student)
                        continue
                    result = StudentResult(student, False, error=f"worker failed: {type(err).__name__}: {err}")
                except Exception as err:  # the worker itself died
                    result = StudentResult(student, False, error=f"worker failed: {type(err).__name__}: {err}")
                if finish(student, result):
                    again.append(student)
            if broken:
                # the pool is unusable: every other pending future breaks too (or just finished)
                rest, _ = concurrent.futures.wait(pending)
                for future in rest:
                    student = pending.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken.append(student)
                        continue
                    except Exception as err:
                        result = StudentResult(student, False, error=f"worker failed: {type(err).__name__}: {err}")
                    if finish(student, result):
                        again.append(student)
                processes = dict(getattr(pool["executor"], "_processes", None) or {})
                pool["executor"].shutdown(wait=True)  # its workers are joined: exit codes known
                deaths = _worker_deaths(markers, processes)
                if not deaths:  # no death pinned on a task: those that were running are suspects
                    deaths = {p.name: "unknown" for p in Path(markers).iterdir()}
                for marker in Path(markers).iterdir():
                    marker.unlink()
                for student in broken:
                    if student in deaths:
                        result = StudentResult(student, False, error=_death_message(deaths[student]))
                        if finish(student, result):
                            again.append(student)
                    else:  # its task broke with the pool, through no fault of its own: free
                        again.append(student)
                pool["executor"] = rebuild()
            for student in again:
                pending[submit(student)] = student
    finally:
        shutil.rmtree(markers, ignore_errors=True)
    return graded, failed


def grade_class(students=None, executor=None, workers=None, submitted=None, retries=1, stream=sys.stderr):
    """Grade every student in ``submitted`` (or the ones named) and return a ClassResult."""
    from grading.course import load_config
    quiet_known_noise()
    require_sandbox()
    submitted = Path(submitted or COURSE_ROOT / "submitted")
    students = list(students or find_students(submitted))
    expected = notebook_names()
    db_url = load_config().CourseDirectory.db_url
    start = time.perf_counter()
    outcome = ClassResult()

    plan, zero = {}, []
    for student in students:
        readable, problems = check_submission(student, submitted, expected)
        outcome.problems += problems
        unreadable = [p for p in problems if p.kind == "unreadable"]
        zero += unreadable
        if not readable:  # nothing nbgrader could open: no run, every notebook scores 0
            plan[student] = []
            zero += [p for p in problems if p.kind == "missing"]
        else:  # None: every notebook in one run; a list: only those (the others are damaged)
            plan[student] = None if not unreadable else readable
    add_students(students, db_url)

    own_executor = executor is None
    executor = executor or make_executor(workers)
    # a local pool we made can be rebuilt when one of its workers dies (see _fan_out)
    rebuild = (lambda: local_executor(workers)) if (
        own_executor and isinstance(executor, concurrent.futures.ProcessPoolExecutor)) else None
    pool = {"executor": executor}
    progress = Progress(len(students), stream)
    try:
        for s in students:
            if plan[s] == []:  # nothing readable: nothing to run
                outcome.graded.append(StudentResult(s, True))
                progress.update(outcome.graded[-1])
        jobs = {s: (plan[s],) for s in students if plan[s] != []}
        graded, failed = _fan_out(pool, jobs, retries, progress, rebuild=rebuild)
        outcome.graded += graded
        outcome.failed += failed
    finally:
        progress.close()
        if own_executor:
            pool["executor"].shutdown()
    zero_notebooks(zero, db_url)
    outcome.seconds = time.perf_counter() - start
    return outcome


def print_summary(outcome, stream=sys.stdout):
    print(f"autograded {len(outcome.graded)} students in {outcome.seconds:.1f}s", file=stream)
    for p in outcome.problems:
        print(f"  student mistake: {p}", file=stream)
    for r in outcome.failed:
        print(f"  GRADING FAILED for {r.student} after {r.attempts} attempts: {r.error}", file=stream)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Autograde the class in parallel.")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GRADING_WORKERS", "0")) or None,
                        help="worker processes (default: GRADING_WORKERS or the number of cores)")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    args = parser.parse_args(argv)
    try:
        outcome = grade_class(students=args.student, workers=args.workers)
    except SandboxUnavailable as err:
        print(err, file=sys.stderr)
        return 2
    print_summary(outcome)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
