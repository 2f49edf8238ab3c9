"""Late submissions: the penalty nbgrader applies (``c.AssignLatePenalties.plugin_class``) and
per-student extensions.

nbgrader's own plugin knows only "none" and "zero". ``FractionPerDayLate`` takes a fraction of the
notebook's score for every started day late (``c.FractionPerDayLate.fraction_per_day``, default
0.1: 10 % a day, nothing left after 10 days). nbgrader computes how late a submission is from its
timestamp, the assignment's due date and the student's extension, and the feedback shows the
penalty ("Late submission penalty") under each notebook's score.

The due date is the gradebook's, set once by the instructor (nbgrader's command):

    nbgrader db assignment add ASSIGNMENT --duedate="2026-12-08 23:59:00 UTC"

The feedback of every notebook starts with the due date (with the student's extension), when it
was submitted and how late (``DueDateInFeedback``, in ``GenerateFeedback.preprocessors``).

An extension is the gradebook's too, on one student's submission (nbgrader has no command for it):

    python -m grading.step.late_penalty extend STUDENT --hours 48     (after collecting; then re-grade)
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Bool, Float

from grading.course import ASSIGNMENT

# who takes points off a late submission (c.LatePenalty.applied_by): the course here, or the LMS
AppliedBy = Literal["course", "lms"]


class FractionPerDayLate(LateSubmissionPlugin):
    """A fraction of the notebook's score per started day late, never more than the score; none
    when the LMS applies its own late policy (``c.LatePenalty.applied_by = "lms"``)."""
    fraction_per_day = Float(0.1, help="fraction of the notebook's score lost per started day late").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        from grading.settings import LatePenalty
        if LatePenalty(config=self.config).applied_by == "lms":
            return 0.0
        days = math.ceil(total_seconds_late / 86400)
        return round(min(score, score * self.fraction_per_day * days), 2)


class DueDateInFeedback(Preprocessor):
    """A first cell in the feedback when the assignment has a due date: the due date (with this
    student's extension), the time of the graded submission, and how late it was; nbgrader's
    template shows the penalty itself."""
    enabled = Bool(True, help=(
        "Show the due date, the submission's time and how late it was at the top of each feedback "
        "page (nbconvert's preprocessors are off unless enabled).")).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        import nbformat
        from nbgrader.api import Gradebook, MissingEntry
        info = resources.get("nbgrader", {})
        try:
            with Gradebook(info["db_url"]) as gb:
                sub = gb.find_submission(info["assignment"], info["student"])
                due, extension, stamp, late = sub.duedate, sub.extension, sub.timestamp, sub.total_seconds_late
        except (KeyError, MissingEntry):
            return nb, resources
        if due is None:  # no due date, nothing to say (the sample class, courses without deadlines)
            return nb, resources
        text = f"**Due:** {due:%Y-%m-%d %H:%M} UTC"
        if extension:
            text += f" (including your extension of {extension.total_seconds() / 3600:g} hours)"
        if late > 0 and self._late_unknown(info):
            text += (". **Submitted:** after the due date; the LMS this was downloaded from says *that* it was "
                     "late, not when, so no time is given here" + self._penalty_note(" (recorded as late by one "
                                                                                      "second: the least penalty)"))
        else:
            text += self._when(stamp, late)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(text + "."))
        return nb, resources

    def _when(self, stamp: datetime | None, late: float) -> str:
        text = f". **Submitted:** {stamp:%Y-%m-%d %H:%M:%S} UTC" if stamp is not None else ""
        if late > 0:
            days = math.ceil(late / 86400)
            return text + (f", late by {late / 3600:.1f} hours ({days} started day{'s' if days > 1 else ''})"
                           + self._penalty_note(": the late-submission penalty is shown above"))
        return text + ", on time"

    def _penalty_note(self, course_text: str) -> str:
        from grading.settings import LatePenalty
        if LatePenalty(config=self.config).applied_by == "lms":
            return ": the LMS applies its late policy to the grade it shows you"
        return course_text

    def _late_unknown(self, info: dict[str, str]) -> bool:
        """True when the submission came from an LMS download that marked it late without a time
        (grading/hosting/lms.py leaves a mark in its submitted folder)."""
        from nbgrader.coursedir import CourseDirectory
        coursedir = CourseDirectory(config=self.config)
        try:
            folder = coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"])
        except KeyError:
            return False
        return os.path.exists(os.path.join(folder, ".lms-late"))


def extend(student: str, hours: float, assignment: str = ASSIGNMENT) -> None:
    """Give ``student`` an extension of ``hours`` on their collected submission (replacing any)."""
    from nbgrader.api import Gradebook, MissingEntry

    from grading.course import nbgrader_api
    api = nbgrader_api()
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            raise SystemExit(f"{student} has no collected submission of {assignment}: collect first "
                             f"(nbgrader collect {assignment}), then extend and grade") from None
        submission.extension = timedelta(hours=hours)
        gb.db.commit()
    print(f"{student}: extension of {hours:g} h on {assignment}; re-grade them to apply it")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grading.step.late_penalty")
    sub = parser.add_subparsers(dest="command", required=True)
    ext = sub.add_parser("extend", help="an extension for one student")
    ext.add_argument("student")
    ext.add_argument("--hours", type=float, required=True)
    args = parser.parse_args(argv)
    extend(args.student, args.hours)
    return 0


if __name__ == "__main__":
    sys.exit(main())
