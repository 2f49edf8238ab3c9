"""What a grading worker process does: autograde one student with nbgrader's API.

A worker (a local pool process, or a Dask worker) keeps one ``NbGraderAPI`` per course root it
has graded for, so nbgrader's imports and configuration are paid once per process and every call
grades the course it names. Nothing here knows which executor runs it (grading/batch/runner.py).
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grading import course

if TYPE_CHECKING:
    from traitlets.config import Config


@dataclass
class StudentResult:
    student: str
    success: bool
    seconds: float = 0.0
    error: str = ""
    attempts: int = 1


@dataclass(frozen=True)
class GradingJob:
    """One student to grade: every notebook in one run (``notebooks`` None), or only these."""
    student: str
    notebooks: tuple[str, ...] | None = None


def grade_payload(payload: tuple[str, tuple[str, ...] | None, str]) -> StudentResult:
    """GradeTask's run: in the worker, grade ``(student, notebooks, root)``."""
    student, notebooks, root = payload
    return grade_student(student, notebooks, root)


class GradeTask:
    """What a worker runs for a job, in three parts: ``prepare`` (where the job is submitted)
    makes the payload, ``run`` (in the worker; a module-level function, so any executor can send
    it) grades, ``finish`` (back where it was submitted) turns the output into a StudentResult.
    Here the worker reaches the course at ``root`` (this machine, or a shared filesystem); the
    Dask ship mode's task sends the files instead (grading/batch/distributed.py)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = str(course.COURSE_ROOT if root is None else root)

    def prepare(self, job: GradingJob) -> tuple[str, tuple[str, ...] | None, str]:
        return (job.student, job.notebooks, self.root)

    run = staticmethod(grade_payload)

    def finish(self, job: GradingJob, output: StudentResult) -> StudentResult:
        return output


_APIS: dict[str, Any] = {}  # this process's NbGraderAPI per course root (str)


def quiet_known_noise() -> None:
    """Known-harmless warnings, silenced: SQLAlchemy's "not in session" SAWarning, which nbgrader
    0.9 triggers whenever a submission is first created, and nbformat's missing-id warning on
    notebooks saved by old JupyterLab versions. Neither affects a grade."""
    import warnings
    warnings.filterwarnings("ignore", message=".*not in session.*")
    warnings.filterwarnings("ignore", message="Cell is missing an id field")


def course_api(root: str | Path, config: Config | None = None) -> Any:
    """This process's NbGraderAPI for the course at ``root``, made on first use (with ``config``
    if given, else the course's nbgrader_config.py)."""
    root = str(root)
    if root not in _APIS:
        from grading.course import nbgrader_api
        quiet_known_noise()
        os.chdir(root)  # as `nbgrader autograde` run in the course folder
        if root not in sys.path:  # the course's own `grading` package, for its preprocessors
            sys.path.insert(0, root)
        _APIS[root] = nbgrader_api(Path(root), config)
    return _APIS[root]


def warm_up(root: str | Path) -> None:
    """Pool initializer: pay nbgrader's imports and the course's configuration once per worker."""
    course_api(root)


def grade_student(student: str, notebooks: tuple[str, ...] | list[str] | None = None,
                  root: str | Path | None = None) -> StudentResult:
    """Autograde one student of the course at ``root`` (all notebooks, or only the named ones) in
    the assignment its configuration names (c.Course.assignment; read here, not at import, as a
    Dask worker imports this module before it has a course).
    Returns a StudentResult; nbgrader's failure is its error, not an exception."""
    from nbgrader.api import Gradebook
    from nbgrader.utils import temp_attrs

    from grading.batch.manual_grades import manual_answers, settle_unchanged
    api = course_api(course.COURSE_ROOT if root is None else root)
    assignment = course.find_assignment(api.coursedir.root, api.config)
    start = time.perf_counter()
    graded = Path(api.coursedir.root) / "autograded" / student / assignment
    before = manual_answers(graded)  # what graders saw, if this is a regrade
    errors = []
    with one_gradebook_engine(api.coursedir.db_url):
        for notebook in [None] if notebooks is None else list(notebooks):
            attrs = {} if notebook is None else {"notebook_id": notebook}
            with temp_attrs(api.coursedir, **attrs):
                result = api.autograde(assignment, student, force=True, create=False)
            if not result.get("success"):
                errors.append(summarise_error(result))
        if before and not errors:
            with Gradebook(api.coursedir.db_url) as gb:
                settle_unchanged(gb, student, before, manual_answers(graded), assignment)
    return StudentResult(student, not errors, time.perf_counter() - start, "; ".join(errors))


# ----------------------------------------------------------------------------- one engine per submission
# nbgrader opens the gradebook about 30 times per submission (each preprocessor, each save), each
# time with a new SQLAlchemy engine: a new database connection and a check of every table (with
# PostgreSQL, a connection and a catalog query per table). While one submission is graded, the
# Gradebook objects of its URL share one engine whose tables were checked once; it is disposed
# when the submission is done. Outside that, nbgrader's Gradebook is as it was.
_SHARED: dict[str, list[Any]] = {}  # db_url -> [its engine (None until the first open), users]
_SHARED_LOCK = threading.Lock()
_NBGRADER_GRADEBOOK: dict[str, Any] = {}  # nbgrader's own __init__ and close, once patched


def _shared_init(self: Any, db_url: str, course_id: str = "default_course", authenticator: Any = None) -> None:
    with _SHARED_LOCK:
        entry = _SHARED.get(db_url)
        engine = entry[0] if entry is not None else None
    self._grading_shared = False
    if engine is None:
        _NBGRADER_GRADEBOOK["init"](self, db_url, course_id, authenticator)
        with _SHARED_LOCK:
            if entry is not None and entry[0] is None and _SHARED.get(db_url) is entry:
                entry[0], self._grading_shared = self.engine, True
        return
    from sqlalchemy.orm import scoped_session, sessionmaker
    self.engine, self._grading_shared = engine, True
    self.db = scoped_session(sessionmaker(autoflush=True, bind=engine, future=True))
    self.check_course(course_id=course_id)
    self.course_id, self.authenticator = course_id, authenticator


def _shared_close(self: Any) -> None:
    if getattr(self, "_grading_shared", False):
        self.db.remove()  # its connection goes back to the shared engine's pool
    else:
        _NBGRADER_GRADEBOOK["close"](self)


@contextlib.contextmanager
def one_gradebook_engine(db_url: str) -> Iterator[None]:
    """While the block runs, nbgrader's Gradebook objects for ``db_url`` share one engine (see above)."""
    from nbgrader.api import Gradebook
    with _SHARED_LOCK:
        if not _NBGRADER_GRADEBOOK:
            _NBGRADER_GRADEBOOK.update(init=Gradebook.__init__, close=Gradebook.close)
            Gradebook.__init__, Gradebook.close = _shared_init, _shared_close
        entry = _SHARED.setdefault(db_url, [None, 0])
        entry[1] += 1
    try:
        yield
    finally:
        with _SHARED_LOCK:
            entry[1] -= 1
            done = entry[1] == 0
            if done:
                del _SHARED[db_url]
        if done and entry[0] is not None:
            entry[0].dispose()


def summarise_error(result: dict[str, Any]) -> str:
    """The last meaningful line of nbgrader's error or log."""
    text = (result.get("error") or result.get("log") or "unknown error").strip().splitlines()
    lines = [line for line in text if line.strip() and "Traceback" not in line]
    return lines[-1].strip() if lines else "unknown error"
