"""Shared fixtures: a throwaway copy of the course, and the sample class graded in it.

Tests never touch the working tree's gradebook, submitted/ or autograded/: they copy what a
fresh clone has (source/, the config, the grading package) into a temporary course root and
run the real commands there.
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
def source_notebooks():
    import nbformat
    return {name: nbformat.read(REPO / "source" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
            for name in notebook_names()}
