"""Grade a whole class in parallel: nbgrader autograde in long-lived worker processes.

nbgrader grades one student after another (its issue #174). The runner grades a class in three
steps, each a function of its own:

1. **plan** (``plan_class``): read every submission; a notebook a student broke (not JSON, not a
   notebook) is named with what to do and scored 0 like a missing notebook, the student's other
   notebooks are still graded. The plan is one ``GradingJob`` per student with something to grade.
2. **run** (``run_jobs``): the jobs fan out over a backend: a ``concurrent.futures.Executor``
   (local worker processes by default, a Dask cluster's through ``Client.get_executor`` when
   ``c.Runner`` asks for one, see grading/batch/distributed.py) and the task its workers run
   (grading/batch/worker.py: ``NbGraderAPI.autograde`` for one student into the one gradebook). Every
   result is checked; a failed student is retried ``c.Runner.retries`` times, then reported by
   name with the reason. A local worker process that dies (the out-of-memory killer's SIGKILL,
   say) breaks the process pool: the pool is rebuilt, the student it was grading is charged one
   attempt (each task leaves a marker naming its worker's pid; the worker that died by itself,
   not by the pool's SIGTERM to the rest, names the student), the others whose tasks broke with
   the pool go again for free, and the batch goes on. Each settled attempt is a
   ``ProgressEvent``; the progress line is drawn from them.
3. **record** (``record_zeros``): the notebooks that could not be graded score 0.

    python -m grading.batch.runner [--workers N] [--student ID ...]
"""
from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, runtime_checkable

from grading.batch.worker import GradeTask, GradingJob, StudentResult, quiet_known_noise, warm_up
from grading.course import ASSIGNMENT, COURSE_ROOT, notebook_names
from grading.settings import UNSANDBOXED, Runner, Sandbox

if TYPE_CHECKING:
    from grading.batch.distributed import DaskBackend


class ProblemKind(StrEnum):
    """What is wrong with a submitted notebook (its value is what the report prints)."""
    MISSING = "missing"  # scores 0
    UNREADABLE = "unreadable"  # not a notebook: scores 0
    OLD_FORMAT = "old_format"  # graded after conversion
    MALFORMED_METADATA = "malformed_metadata"  # graded; the cells nbgrader cannot read are ordinary cells


@dataclass
class NotebookProblem:
    student: str
    notebook: str
    reason: str
    advice: str
    kind: ProblemKind

    def __str__(self) -> str:
        return f"{self.student}: {self.notebook}.ipynb {self.reason} -- {self.advice}"


@dataclass
class ClassResult:
    graded: list[StudentResult] = field(default_factory=list)  # succeeded
    failed: list[StudentResult] = field(default_factory=list)  # failed on every attempt
    problems: list[NotebookProblem] = field(default_factory=list)  # the students' own mistakes
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


# ----------------------------------------------------------------------------- 1. plan
def find_students(submitted: str | Path) -> list[str]:
    """Student ids with a submission of the assignment, sorted."""
    return sorted(p.parent.name for p in Path(submitted).glob(f"*/{ASSIGNMENT}") if p.is_dir())


def _missing(student: str, name: str, present: set[str], expected: Sequence[str]) -> NotebookProblem:
    others = sorted(present - set(expected))
    advice = (f"found {', '.join(o + '.ipynb' for o in others)} instead: keep the released file names"
              if others else "submit the released notebook under its released name")
    return NotebookProblem(student, name, "is missing (scored 0)", advice, ProblemKind.MISSING)


def _unreadable(student: str, name: str, err: Exception) -> NotebookProblem:
    import nbformat
    if isinstance(err, nbformat.reader.NotJSONError):
        reason = "it is not valid JSON"
    else:
        reason = (str(err).splitlines() or [type(err).__name__])[0][:160]
    return NotebookProblem(
        student, name, f"could not be read as a notebook ({reason}); scored 0",
        "the file is damaged: ask the student to re-download it from JupyterLab (File > Download) "
        "and resubmit", ProblemKind.UNREADABLE)


def _gradable_problems(student: str, name: str, path: Path) -> list[NotebookProblem]:
    """Problems of a notebook nbgrader can still grade (old format, malformed metadata); raises
    if it cannot be read as a notebook at all."""
    import nbformat

    from grading.step.master_cells import malformed_cells
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    version = nb.get("nbformat", 0)
    problems = []
    if version < 4:  # nbgrader converts it on reading; say so, grade it
        nb = nbformat.convert(nb, 4)
        problems.append(NotebookProblem(
            student, name, f"is in the old notebook format {version} (converted to 4 and graded)",
            "nothing to do; an up-to-date JupyterLab saves format 4", ProblemKind.OLD_FORMAT))
    nbformat.validate(nb)
    malformed = malformed_cells(nb)
    if malformed:
        problems.append(NotebookProblem(
            student, name, f"has cells whose nbgrader metadata is not readable (cells "
            f"{', '.join(str(i + 1) for i in malformed)}: graded as ordinary cells, instructor cells put back)",
            "the notebook's cell metadata was edited by hand or by another tool: ask the student to copy "
            "their answers into a fresh copy of the released notebook and resubmit", ProblemKind.MALFORMED_METADATA))
    return problems


def check_submission(student: str, submitted: str | Path,
                     expected: Sequence[str]) -> tuple[list[str], list[NotebookProblem]]:
    """(readable notebook names, problems) for one student's submission folder."""
    folder = Path(submitted) / student / ASSIGNMENT
    readable: list[str] = []
    problems: list[NotebookProblem] = []
    present = {p.stem for p in folder.glob("*.ipynb")}
    for name in expected:
        if name not in present:
            problems.append(_missing(student, name, present, expected))
            continue
        try:
            problems += _gradable_problems(student, name, folder / f"{name}.ipynb")
        except Exception as err:  # any reason the file is not a notebook we can grade
            problems.append(_unreadable(student, name, err))
            continue
        readable.append(name)
    return readable, problems


@dataclass
class Plan:
    jobs: list[GradingJob]  # every student with a notebook nbgrader can open
    nothing_readable: list[str]  # students with no notebook to grade: no run, every notebook scores 0
    zeros: list[NotebookProblem]  # the notebooks recorded as 0 after the run
    problems: list[NotebookProblem]  # every one, for the summary


def plan_class(students: Iterable[str], submitted: str | Path, expected: Sequence[str]) -> Plan:
    """What to grade: one job per student (every notebook in one run, or only the readable ones
    when some are damaged), and which notebooks score 0."""
    plan = Plan([], [], [], [])
    for student in students:
        readable, problems = check_submission(student, submitted, expected)
        plan.problems += problems
        unreadable = [p for p in problems if p.kind == ProblemKind.UNREADABLE]
        plan.zeros += unreadable
        if not readable:
            plan.nothing_readable.append(student)
            plan.zeros += [p for p in problems if p.kind == ProblemKind.MISSING]
        else:
            plan.jobs.append(GradingJob(student, tuple(readable) if unreadable else None))
    return plan


# ----------------------------------------------------------------------------- 2. run
class Status(StrEnum):
    """How an attempt settled (its value is what the progress line shows)."""
    OK = "ok"
    FAILED = "FAILED"  # no attempts left
    RETRYING = "retrying"


@dataclass(frozen=True)
class ProgressEvent:
    """One settled attempt."""
    student: str
    status: Status
    done: int
    total: int
    failures: int
    elapsed: float

    @property
    def seconds_left(self) -> float:
        return self.elapsed / self.done * (self.total - self.done) if self.done else float("nan")


class Tally:
    """Counts settled students and turns each attempt into a ProgressEvent for ``on_event``."""

    def __init__(self, total: int, on_event: Callable[[ProgressEvent], object]) -> None:
        self.total, self.on_event, self.start = total, on_event, time.perf_counter()
        self.done = self.failures = 0

    def settled(self, result: StudentResult, retrying: bool = False) -> None:
        if not retrying:
            self.done += 1
            self.failures += not result.success
        status = Status.RETRYING if retrying else (Status.OK if result.success else Status.FAILED)
        self.on_event(ProgressEvent(result.student, status, self.done, self.total, self.failures,
                                    time.perf_counter() - self.start))


class ProgressLine:
    """Renders ProgressEvents as one status line, rewritten in place on a terminal."""

    def __init__(self, stream: IO[str] = sys.stderr) -> None:
        self.stream, self.tty = stream, stream.isatty()

    def __call__(self, event: ProgressEvent) -> None:
        line = (f"graded {event.done}/{event.total} | failures {event.failures} | {event.elapsed:5.1f}s elapsed, "
                f"~{event.seconds_left:4.1f}s left | {event.student}: {event.status}")
        self.stream.write(("\r\033[K" + line) if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _tracked(markers: str, student: str, run: Callable[[Any], Any], payload: Any) -> Any:
    """Run ``run(payload)`` in a worker, with a marker naming the worker's pid while it runs: if
    the worker dies, the marker left behind says whose task it was running."""
    marker = Path(markers) / student
    marker.write_text(str(os.getpid()))
    try:
        return run(payload)
    finally:
        marker.unlink(missing_ok=True)


def _exit_code(pid: int, processes: dict[int, Any]) -> int | str | None:
    """Exit code of one of the pool's processes, "unknown" for a dead stranger, None if alive."""
    process = processes.get(pid)
    if process is not None:
        return process.exitcode
    try:
        os.kill(pid, 0)
        return None
    except ProcessLookupError:
        return "unknown"


def _worker_deaths(markers: str, processes: dict[int, Any]) -> dict[str, int | str]:
    """{student: exit code} of the tasks whose worker died by itself (not the pool's own SIGTERM
    to its other workers once it broke): read from the markers left behind."""
    deaths: dict[str, int | str] = {}
    for marker in Path(markers).iterdir():
        try:
            pid = int(marker.read_text())
        except (OSError, ValueError):
            continue
        code = _exit_code(pid, processes)
        if code is not None and code != -signal.SIGTERM:
            deaths[marker.name] = code
    return deaths


def _death_message(code: int | str) -> str:
    if isinstance(code, int) and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (the out-of-memory killer sends SIGKILL)" if -code == signal.SIGKILL else ""
        return f"the worker process grading this student died of {name}{hint}"
    return f"the worker process grading this student died (exit code {code})"


class Task(Protocol):
    """What a backend's workers run for a job: ``prepare`` (where the job is submitted) makes the
    payload, ``run`` (in the worker, a module-level function any executor can send) grades,
    ``finish`` (back where it was submitted) turns the output into a StudentResult."""

    def prepare(self, job: GradingJob) -> Any: ...

    @property
    def run(self) -> Callable[[Any], Any]: ...

    def finish(self, job: GradingJob, output: Any) -> StudentResult: ...


class Backend(Protocol):
    """Where run_jobs grades: an executor and the task its workers run. A worker lost there fails
    its own task and the executor carries on (Dask, an executor the caller gives)."""

    @property
    def executor(self) -> concurrent.futures.Executor: ...

    @property
    def task(self) -> Task: ...


@runtime_checkable
class RebuildableBackend(Backend, Protocol):
    """A backend whose worker's death breaks the whole pool (a local ProcessPoolExecutor):
    ``rebuild`` replaces it, and the runner finds out whose task the dead worker was running."""

    def rebuild(self) -> None: ...


class _Batch:
    """The jobs of one run on one backend: submit, settle, retry, recover from a broken pool."""

    def __init__(self, backend: Backend, jobs: Iterable[GradingJob], retries: int, tally: Tally) -> None:
        self.backend, self.retries, self.tally = backend, retries, tally
        self.jobs = {job.student: job for job in jobs}
        self.attempts = {student: 1 for student in self.jobs}
        self.graded: list[StudentResult] = []
        self.failed: list[StudentResult] = []
        self.pending: dict[concurrent.futures.Future[Any], str] = {}
        self.again = list(self.jobs)
        self.rebuildable = isinstance(backend, RebuildableBackend)
        self.markers = tempfile.mkdtemp(prefix="grading-markers-") if self.rebuildable else None

    def submit(self, student: str) -> None:
        task, executor = self.backend.task, self.backend.executor
        payload = task.prepare(self.jobs[student])
        if self.markers is None:
            future = executor.submit(task.run, payload)
        else:
            future = executor.submit(_tracked, self.markers, student, task.run, payload)
        self.pending[future] = student

    def outcome(self, future: concurrent.futures.Future[Any], student: str) -> StudentResult | None:
        """The attempt's StudentResult, or None if its task broke with the pool (to recover)."""
        try:
            return self.backend.task.finish(self.jobs[student], future.result())
        except BrokenProcessPool as err:
            if self.rebuildable:
                return None
            return StudentResult(student, False, error=f"worker failed: {type(err).__name__}: {err}")
        except Exception as err:  # the worker itself died, or the task raised
            return StudentResult(student, False, error=f"worker failed: {type(err).__name__}: {err}")

    def settle(self, student: str, result: StudentResult) -> None:
        """Record one attempt; the student goes again while it has attempts left."""
        result.attempts = self.attempts[student]
        if not result.success and self.attempts[student] <= self.retries:
            self.attempts[student] += 1
            self.tally.settled(result, retrying=True)
            self.again.append(student)
            return
        (self.graded if result.success else self.failed).append(result)
        self.tally.settled(result)

    def collect(self, futures: Iterable[concurrent.futures.Future[Any]]) -> list[str]:
        """Settle finished futures; the students whose task broke with the pool."""
        broken: list[str] = []
        for future in futures:
            student = self.pending.pop(future)
            result = self.outcome(future, student)
            if result is None:
                broken.append(student)
            else:
                self.settle(student, result)
        return broken

    def recover(self, broken: list[str]) -> None:
        """A local pool broke: charge the student whose worker died, rebuild, free the rest."""
        assert isinstance(self.backend, RebuildableBackend) and self.markers is not None
        processes = dict(getattr(self.backend.executor, "_processes", None) or {})
        self.backend.executor.shutdown(wait=True)  # its workers are joined: exit codes known
        deaths = _worker_deaths(self.markers, processes)
        if not deaths:  # no death pinned on a task: those that were running are suspects
            deaths = {p.name: "unknown" for p in Path(self.markers).iterdir()}
        for marker in Path(self.markers).iterdir():
            marker.unlink()
        for student in broken:
            if student in deaths:
                self.settle(student, StudentResult(student, False, error=_death_message(deaths[student])))
            else:  # its task broke with the pool, through no fault of its own: free
                self.again.append(student)
        self.backend.rebuild()

    def run(self) -> tuple[list[StudentResult], list[StudentResult]]:
        try:
            while self.again or self.pending:
                for student in self.again:
                    self.submit(student)
                self.again = []
                done, _ = concurrent.futures.wait(self.pending, return_when=concurrent.futures.FIRST_COMPLETED)
                broken = self.collect(done)
                if broken:  # the pool is unusable: every other pending future breaks too (or just finished)
                    broken += self.collect(concurrent.futures.wait(self.pending)[0])
                    self.recover(broken)
        finally:
            if self.markers:
                shutil.rmtree(self.markers, ignore_errors=True)
        return self.graded, self.failed


def run_jobs(backend: Backend, jobs: Iterable[GradingJob], retries: int,
             tally: Tally) -> tuple[list[StudentResult], list[StudentResult]]:
    """Grade every job on ``backend``; (graded, failed) lists of StudentResult."""
    return _Batch(backend, jobs, retries, tally).run()


# What a local worker imports before it is forked (``worker_context``): nbgrader's commands (about
# 0.7 s of CPU, nearly all of a worker's start). Nothing that imports numpy: its BLAS starts a
# thread at import, and a process is forked from a server with one thread only.
WORKER_PRELOAD = ["nbgrader.apps", "grading.batch.worker"]


def worker_context() -> multiprocessing.context.ForkServerContext:
    """Local workers are forked from multiprocessing's fork server, a fresh process started once
    per runner that imports WORKER_PRELOAD once, instead of each worker importing them itself
    (spawn). Forked from that server, not from the runner: no thread, open gradebook or pool of
    the runner reaches a worker. A worker still reads the course's configuration itself (warm_up)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_PRELOAD)
    return context


class LocalBackend:
    """Long-lived local worker processes (the embedded default), rebuilt if one dies."""

    def __init__(self, workers: int, root: str | Path = COURSE_ROOT) -> None:
        self.workers, self.root = workers, str(root)
        self.task = GradeTask(self.root)
        self.executor = self._pool()

    def _pool(self) -> concurrent.futures.ProcessPoolExecutor:
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=worker_context(),
            initializer=warm_up, initargs=(self.root,))

    def rebuild(self) -> None:
        self.executor = self._pool()

    def close(self) -> None:
        self.executor.shutdown()


class GivenExecutor:
    """An executor the caller made and closes: grade_student tasks on it, never rebuilt."""

    def __init__(self, executor: concurrent.futures.Executor, root: str | Path = COURSE_ROOT) -> None:
        self.executor, self.task = executor, GradeTask(str(root))

    def close(self) -> None:
        pass


def make_backend(settings: Runner, root: str | Path = COURSE_ROOT) -> LocalBackend | DaskBackend:
    """The backend ``c.Runner`` asks for: a Dask cluster (executor "dask" or a scheduler address;
    see docs/scaling.md), else local worker processes. Dask is imported only then."""
    if settings.uses_dask:
        from grading.batch.distributed import dask_backend
        return dask_backend(settings, root)
    return LocalBackend(settings.worker_count, root)


# ----------------------------------------------------------------------------- 3. record
def add_students(students: Iterable[str], db_url: str) -> None:
    """Create every student before the fan-out. nbgrader checks whether a student exists, then
    inserts: measured with 8 processes creating the same new student at once, 2 to 7 of 8 failed
    (UniqueViolation on PostgreSQL, UNIQUE constraint failed on SQLite). So students are added
    here, once, and workers grade with create=False."""
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gb:
        for student in students:
            gb.update_or_create_student(student)


def record_zeros(problems: Iterable[NotebookProblem], db_url: str) -> None:
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


# ----------------------------------------------------------------------------- the class
class SandboxUnavailable(RuntimeError):
    pass


def require_sandbox(settings: Sandbox) -> None:
    """Refuse to grade, before anything starts, where the sandbox cannot run (unless switched off)."""
    from grading.step import sandbox
    if not settings.enabled:
        print(f"WARNING: grading WITHOUT the sandbox (c.Sandbox.enabled = False): {UNSANDBOXED}.",
              file=sys.stderr)
        return
    reason = sandbox.problem(settings)
    if reason:
        raise SandboxUnavailable(
            f"Grading refused: the sandbox cannot start here: {reason}.\n"
            "Either install it (Debian: apt-get install bubblewrap), or grade without it, knowing that "
            f"then {UNSANDBOXED}: GRADING_SANDBOX=off make autograde")


def grade_class(students: Iterable[str] | None = None, executor: concurrent.futures.Executor | None = None,
                workers: int | None = None, submitted: str | Path | None = None, retries: int | None = None,
                stream: IO[str] = sys.stderr, on_event: Callable[[ProgressEvent], object] | None = None,
                root: str | Path = COURSE_ROOT) -> ClassResult:
    """Grade every student in ``submitted`` (or the ones named) and return a ClassResult.

    ``executor``: a concurrent.futures.Executor to grade on (the caller closes it); default: the
    backend ``c.Runner`` configures. ``on_event``: called with every ProgressEvent (default: the
    progress line on ``stream``)."""
    from grading.course import load_config
    quiet_known_noise()
    config = load_config(root)
    runner = Runner(config=config)
    require_sandbox(Sandbox(config=config))
    submitted = Path(submitted or Path(root) / "submitted")
    students = list(students or find_students(submitted))
    start = time.perf_counter()
    plan = plan_class(students, submitted, notebook_names())
    add_students(students, config.CourseDirectory.db_url)
    line = ProgressLine(stream)
    tally = Tally(len(students), on_event or line)
    outcome = ClassResult(problems=plan.problems)
    for student in plan.nothing_readable:
        outcome.graded.append(StudentResult(student, True))
        tally.settled(outcome.graded[-1])
    if workers:
        runner.workers = workers
    backend: GivenExecutor | LocalBackend | DaskBackend = (
        GivenExecutor(executor, root) if executor is not None else make_backend(runner, root))
    try:
        graded, failed = run_jobs(backend, plan.jobs, runner.retries if retries is None else retries, tally)
    finally:
        line.close()
        backend.close()
    outcome.graded += graded
    outcome.failed += failed
    record_zeros(plan.zeros, config.CourseDirectory.db_url)
    outcome.seconds = time.perf_counter() - start
    return outcome


def print_summary(outcome: ClassResult, stream: IO[str] = sys.stdout) -> None:
    print(f"autograded {len(outcome.graded)} students in {outcome.seconds:.1f}s", file=stream)
    for p in outcome.problems:
        print(f"  student mistake: {p}", file=stream)
    for r in outcome.failed:
        print(f"  GRADING FAILED for {r.student} after {r.attempts} attempts: {r.error}", file=stream)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Autograde the class in parallel.")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: c.Runner.workers, GRADING_WORKERS, or one per core)")
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
