"""Feedback never shows an ungraded written answer as a zero, and is not released half-graded by accident.

    python -m grading.pages.feedback [--partial]      (make feedback [PARTIAL=1])

refuses, naming each student and cell, while any written answer of a student it would release
still needs grading by hand; ``--partial`` releases anyway, and every page with an ungraded
answer then says so at its top. Either way it runs ``nbgrader generate_feedback``.

Inside ``generate_feedback`` (``nbgrader_config.py``): ``PendingWritten`` (after nbgrader's
GetGrades) marks each cell that still needs a grader, and grading/pages/sanitize.py's
``FeedbackHTMLExporter`` writes "not graded yet" where nbgrader would print "Score: 0.0 / 8.0",
the notebook's score as "so far", and the partial-feedback notice.
"""
from __future__ import annotations

import argparse
import math
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List

from grading.course import ASSIGNMENT, COURSE_ROOT, course_env
from grading.reports.gradebook import read_grades

PENDING = "pending_written"  # resources key: [(grade_id, points)] of the notebook's ungraded cells


class PendingWritten(NbGraderPreprocessor):
    """After GetGrades: a cell that still needs a grader gets score NaN (the exporter writes "not
    graded yet" there) and is listed in ``resources[PENDING]``."""

    display_data_priority: List[str] = List([], help=(
        "Not a course option: nbconvert's HTML exporter sets it on every preprocessor it runs "
        "(NbConvertBase); accepted here, unused.")).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        from nbgrader.api import Gradebook, MissingEntry
        info = resources.get("nbgrader", {})
        if not info.get("db_url"):  # not run by generate_feedback: no gradebook to ask
            return nb, resources
        with Gradebook(info["db_url"]) as gb:
            try:
                notebook = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            except MissingEntry:
                return nb, resources
            pending = {g.name: g.max_score for g in notebook.grades if g.needs_manual_grade}
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade_id") in pending and "score" in meta:
                meta["score"] = math.nan
        resources[PENDING] = sorted(pending.items())
        return nb, resources


def pending_students(db_url: str | None = None, students: set[str] | None = None) -> dict[str, list[str]]:
    """{student: ["q1: cell, cell", ...]} of the cells still needing a grader, per notebook (of
    ``students`` when given, else of every submission)."""
    pending: dict[str, list[str]] = {}
    for student, notebooks in read_grades(db_url).items():
        if students and student not in students:
            continue
        cells = [f"{nb.name.split('_')[0]}: {', '.join(waiting)}" for nb in notebooks
                 for waiting in [[c.grade_id for c in nb.cells if c.needs_manual_grade]] if waiting]
        if cells:
            pending[student] = cells
    return pending


def refusal(pending: dict[str, list[str]], limit: int = 20) -> str:
    """The message naming who still needs grading (at most ``limit`` students, then a count)."""
    lines = [f"feedback not released: {len(pending)} students have answers that still need "
             "grading by hand (formgrader, or its rubric page: formgrader/rubric/questions)"]
    for student, items in list(sorted(pending.items()))[:limit]:
        lines.append(f"  {student}: {'; '.join(items)}")
    if len(pending) > limit:
        lines.append(f"  ... and {len(pending) - limit} more students")
    lines.append("grade them, or release what there is with: make feedback PARTIAL=1 "
                 "(each page then says which answers are not graded yet)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Feedback for every graded student, once hand grading is done.")
    parser.add_argument("--partial", action="store_true",
                        help="release even where written answers are not graded yet (pages say so)")
    parser.add_argument("--student", help="only this student")
    args = parser.parse_args(argv)
    pending = pending_students(students={args.student} if args.student else None)
    if pending and not args.partial:
        print(refusal(pending), file=sys.stderr)
        return 1
    cmd = ["nbgrader", "generate_feedback", ASSIGNMENT, "--force", "--log-level=WARN"]
    if args.student:
        cmd.append(f"--student={args.student}")
    done = subprocess.run(cmd, cwd=COURSE_ROOT, env=course_env(**_gradebook_override()))
    if done.returncode == 0:
        print("feedback written to feedback/" + (f" (partial: {len(pending)} students have written answers "
                                                 "not graded yet; their pages say so)" if pending else ""))
    return done.returncode


def _gradebook_override() -> dict[str, str]:
    """GRADEBOOK_URL as the caller set it (course_env drops it for course copies)."""
    import os
    return {"GRADEBOOK_URL": os.environ["GRADEBOOK_URL"]} if os.environ.get("GRADEBOOK_URL") else {}


if __name__ == "__main__":
    sys.exit(main())
