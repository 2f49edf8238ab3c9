"""Shared fixtures: a throwaway copy of the course, and the sample class graded in it.

Tests never touch the working tree's gradebook, submitted/ or autograded/: they copy what a
fresh clone has (source/, the config, the grading package) into a temporary course root and
run the real commands there.

The sample class is graded once per session (graded_class), its feedback generated once
(class_feedback) and its report written once (class_report); every test that only reads grades,
graded copies, feedback or the report reads these. A test that changes a course (regrades,
grades by hand, kills a worker) works in a copy of its own, on the few students it needs.
"""
import sys

import pytest

from course_helpers import REPO, grade_table, make_course, run
from grading.course import ASSIGNMENT, notebook_names


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """The sample class built and graded by the parallel runner in a course copy."""
    root = make_course(tmp_path_factory.mktemp("course"))
    run([sys.executable, "-m", "grading.sample_class"], cwd=root)
    proc = run([sys.executable, "-m", "grading.runner", "--workers", "2"], cwd=root)
    return {"root": root, "table": grade_table(root), "stdout": proc.stdout, "stderr": proc.stderr}


@pytest.fixture(scope="session")
def class_feedback(graded_class):
    """`nbgrader generate_feedback` for the whole graded sample class: {"root", "folder", "log"}
    (the command's output, which names any figure without alternative text)."""
    root = graded_class["root"]
    proc = run(["nbgrader", "generate_feedback", ASSIGNMENT, "--force"], cwd=root)
    return {"root": root, "folder": root / "feedback", "log": proc.stdout + proc.stderr}


@pytest.fixture(scope="session")
def class_report(graded_class):
    """The instructor's report of the graded sample class (python -m grading.report): its path."""
    root = graded_class["root"]
    run([sys.executable, "-m", "grading.report"], cwd=root)
    return root / "reports" / "report.html"


@pytest.fixture(scope="session")
def source_notebooks():
    import nbformat
    return {name: nbformat.read(REPO / "source" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
            for name in notebook_names()}
