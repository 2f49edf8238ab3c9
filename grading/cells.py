"""What a notebook cell is to nbgrader, defined once: read from its ``nbgrader`` metadata.

Everything in grading/, bench/ and tests/ that asks "is this a test cell?" or "which cell is
this?" asks here. The flags mean what nbgrader's own ``nbgrader.utils`` says they mean (a
solution cell is never locked, a grade cell always is); these functions add two things:

- they accept cells as nbformat nodes or as plain dicts (``json.load`` of a submission);
- metadata that is not a dict (a student's edit, or another tool's) reads as no metadata at all,
  where ``nbgrader.utils`` would raise: a hostile notebook can make a cell ordinary, never crash
  the code that looks at it. (grading/step/master_cells.py finds and drops such metadata before
  grading, on purpose reading it raw.)

The kinds of cell in this course:

- **test cell**: an autograder test, the instructor's code graded by running it (grade, not
  solution). Named ``test_...`` by convention, but what makes one is its metadata, not its name.
- **answer cell**: where the student writes (solution): a function to write, or a written answer.
- **written answer**: an answer cell in markdown; graded ones are graded by hand.
- **set-up cell**: the instructor's locked code that is neither graded nor an answer (imports).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nbformat import NotebookNode
from nbgrader import utils

# a notebook cell: an nbformat node or a plain dict (json.load of a submission)
Cell = Mapping[str, Any]


def nbgrader_metadata(cell: Cell) -> dict[str, Any]:
    """The cell's ``nbgrader`` metadata: {} when it has none, or when what it has is not a dict."""
    metadata = cell.get("metadata")
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def _readable(cell: Cell) -> NotebookNode:
    """The cell as nbgrader.utils reads it: a NotebookNode whose nbgrader metadata is a dict or absent."""
    meta = nbgrader_metadata(cell)
    return NotebookNode(metadata=NotebookNode(nbgrader=meta) if meta else NotebookNode())


def is_grade(cell: Cell) -> bool:
    return bool(utils.is_grade(_readable(cell)))


def is_solution(cell: Cell) -> bool:
    return bool(utils.is_solution(_readable(cell)))


def is_locked(cell: Cell) -> bool:
    return bool(utils.is_locked(_readable(cell)))


def is_test_cell(cell: Cell) -> bool:
    """An autograder test: a code cell that is graded and is not the student's answer."""
    return cell.get("cell_type") == "code" and is_grade(cell) and not is_solution(cell)


def is_answer_cell(cell: Cell) -> bool:
    """A cell the student writes in (code or markdown)."""
    return is_solution(cell)


def is_written_answer(cell: Cell) -> bool:
    """An answer in prose (a markdown answer cell), graded by hand."""
    return cell.get("cell_type") == "markdown" and is_solution(cell)


def is_manually_graded(cell: Cell) -> bool:
    """An answer cell that is graded: a grader scores it by hand (nbgrader cannot run prose)."""
    return is_grade(cell) and is_solution(cell)


def is_setup_cell(cell: Cell) -> bool:
    """The instructor's locked code that is neither a test nor an answer (imports, helpers)."""
    return cell.get("cell_type") == "code" and is_locked(cell) and not is_grade(cell) and not is_solution(cell)


def grade_id(cell: Cell) -> str | None:
    """The cell's nbgrader id (None for an ordinary cell)."""
    return nbgrader_metadata(cell).get("grade_id")


def points(cell: Cell) -> float:
    """The points a grade cell is worth (0 for a cell that is not graded)."""
    return nbgrader_metadata(cell).get("points", 0) if is_grade(cell) else 0
