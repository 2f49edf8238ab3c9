"""The gradebook read into plain data, once: every submission's notebooks and their grades.

The scores table, the report, the benchmarks and the tests read grades through ``read_grades``
and pick what they need from it; they never walk nbgrader's database objects themselves (which
exist only while the gradebook is open).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from grading.course import ASSIGNMENT, load_config

T = TypeVar("T")


@dataclass(frozen=True)
class CellGrade:
    """One graded cell of one student's notebook."""
    grade_id: str
    cell_type: Literal["code", "markdown"]  # an autograded test, or a written answer
    score: float
    max_score: float
    auto_score: float | None
    manual_score: float | None
    needs_manual_grade: bool


@dataclass(frozen=True)
class NotebookGrades:
    """One student's notebook: its totals, and its cells in the gradebook's order."""
    name: str
    score: float
    max_score: float
    needs_manual_grade: bool
    cells: tuple[CellGrade, ...]


def read_grades(db_url: str | None = None, assignment: str = ASSIGNMENT) -> dict[str, list[NotebookGrades]]:
    """{student: [NotebookGrades, ...]} for every submission of ``assignment``, in the
    gradebook's order. ``db_url``: the course's gradebook (nbgrader_config.py) if not given."""
    from nbgrader.api import Gradebook
    db_url = db_url or load_config().CourseDirectory.db_url
    with Gradebook(db_url) as gb:
        return {submission.student_id: [_notebook(nb) for nb in submission.notebooks]
                for submission in gb.assignment_submissions(assignment)}


def _notebook(nb: Any) -> NotebookGrades:
    cells = tuple(CellGrade(g.name, g.cell_type, g.score, g.max_score, g.auto_score, g.manual_score,
                            g.needs_manual_grade) for g in nb.grades)
    return NotebookGrades(nb.name, nb.score, nb.max_score, nb.needs_manual_grade, cells)


def cell_table(grades: dict[str, list[NotebookGrades]], value: Callable[[CellGrade], T]) -> dict[str, dict[str, T]]:
    """{student: {grade_id: value(CellGrade)}} from ``read_grades``'s result."""
    return {student: {c.grade_id: value(c) for nb in notebooks for c in nb.cells}
            for student, notebooks in grades.items()}
