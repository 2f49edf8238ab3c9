"""Shared fixtures: a throwaway copy of the course, and the sample class graded in it.

Tests never touch the working tree's gradebook, submitted/ or autograded/: they copy what a
fresh clone has (source/, the config, the grading package) into a temporary course root and
run the real commands there.

The sample class is graded once per run (graded_class), its feedback generated once
(class_feedback) and its report written once (class_report); every test that only reads grades,
graded copies, feedback or the report reads these. A test that changes a course (regrades,
grades by hand, kills a worker) works in a copy of its own, on the few students it needs.

`make test` runs the suite on two processes (pytest-xdist, ``-n 2 --dist loadfile``: a file's
tests stay together, so its module fixtures are made once). The three fixtures above are made
once for both: the first process that needs one makes it under a lock, in the run's shared
temporary folder, and the other reads what it left (``once_per_run``).
"""
import fcntl
import json
import os
import sys
from pathlib import Path

import pytest

from course_helpers import REPO, grade_table, make_course, run
from grading.course import ASSIGNMENT, notebook_names


def once_per_run(tmp_path_factory, name, make):
    """``make(folder)`` run once per test run, however many xdist processes ask: the result
    (JSON data) is kept beside the processes' own temporary folders; a process that asks while
    another is making it waits for it. Without xdist, just ``make``."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return make(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = shared / f"{name}.json"
        if not done.exists():
            folder = shared / name
            folder.mkdir()
            done.write_text(json.dumps(make(folder)))
        return json.loads(done.read_text())


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """The sample class built and graded by the parallel runner in a course copy:
    {"root", "table" ({student: {grade_id: (score, max_score)}}), "stdout", "stderr"}."""
    def grade(folder):
        root = make_course(folder)
        run([sys.executable, "-m", "grading.sample_class"], cwd=root)
        proc = run([sys.executable, "-m", "grading.batch.runner", "--workers", "2"], cwd=root)
        return {"root": str(root), "table": grade_table(root), "stdout": proc.stdout, "stderr": proc.stderr}
    graded = once_per_run(tmp_path_factory, "graded_class", grade)
    table = {student: {g: tuple(score) for g, score in cells.items()} for student, cells in graded["table"].items()}
    return dict(graded, root=Path(graded["root"]), table=table)


@pytest.fixture(scope="session")
def class_feedback(graded_class, tmp_path_factory):
    """`nbgrader generate_feedback` for the whole graded sample class: {"root", "folder", "log"}
    (the command's output, which names any figure without alternative text)."""
    root = graded_class["root"]

    def generate(_):
        proc = run(["nbgrader", "generate_feedback", ASSIGNMENT, "--force"], cwd=root)
        return {"log": proc.stdout + proc.stderr}
    return {"root": root, "folder": root / "feedback", **once_per_run(tmp_path_factory, "class_feedback", generate)}


@pytest.fixture(scope="session")
def class_report(graded_class, tmp_path_factory):
    """The instructor's report of the graded sample class (python -m grading.reports.report): its path."""
    root = graded_class["root"]

    def write(_):
        run([sys.executable, "-m", "grading.reports.report"], cwd=root)
    once_per_run(tmp_path_factory, "class_report", write)
    return root / "reports" / "report.html"


@pytest.fixture(scope="session")
def source_notebooks():
    import nbformat
    return {name: nbformat.read(REPO / "source" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
            for name in notebook_names()}


# ----------------------------------------------------------------------------- two processes
# Files handed out first under xdist (--no-loadscope-reorder keeps this order), longest first: the
# file whose first test grades the sample class, then the longest files that do not wait for it;
# a process takes its next file when it is nearly done with one. The others follow in path order.
LONGEST_FIRST = ["tests/test_autograde_sample_class.py", "tests/test_hostile.py", "tests/browser/test_hub.py",
                 "tests/test_scale.py", "tests/test_runner.py", "tests/browser/test_offline_and_accessible.py"]


def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: a file's own order kept
