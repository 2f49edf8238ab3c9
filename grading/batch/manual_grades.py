"""Keep what graders entered when a resubmission is graded again.

nbgrader keeps manual scores and comments across re-autograding, but flags every manually graded
cell "needs manual grade" again, changed or not, so graders re-read everything. Here the written
answers are compared before and after: an unchanged answer keeps its manual score and comment and
is not flagged; a changed one is flagged for review (its previous score stays visible).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from grading.cells import grade_id, is_manually_graded

if TYPE_CHECKING:
    from nbgrader.api import Gradebook


def manual_answers(folder: str | Path) -> dict[tuple[str, str | None], str]:
    """{(notebook, grade_id): answer text} of the manually graded cells in a graded folder."""
    answers: dict[tuple[str, str | None], str] = {}
    for path in Path(folder).glob("*.ipynb"):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # an unreadable old copy: treat its answers as changed
            continue
        for cell in nb.cells:
            if is_manually_graded(cell):
                answers[(path.stem, grade_id(cell))] = cell.source
    return answers


def settle_unchanged(gradebook: Gradebook, student: str, before: dict[tuple[str, str | None], str],
                     after: dict[tuple[str, str | None], str], assignment: str) -> int:
    """Unflag manual grades whose answer is the same as when it was graded. Returns their count."""
    from nbgrader.api import MissingEntry
    kept = 0
    for key, text in after.items():
        notebook, grade_id = key
        try:
            grade = gradebook.find_grade(grade_id, notebook, assignment, student)
        except MissingEntry:
            continue
        if grade.manual_score is not None and before.get(key) == text:
            grade.needs_manual_grade = False
            kept += 1
    gradebook.db.commit()
    return kept
