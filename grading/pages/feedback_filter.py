"""Feedback that keeps hidden tests hidden (nbgrader issue #917).

nbgrader restores every test cell from the gradebook before grading, hidden tests included,
and ``generate_feedback`` renders those cells as they are. This preprocessor runs inside
``generate_feedback`` (see ``nbgrader_config.py``): it removes the hidden-test regions with
nbgrader's own ``ClearHiddenTests`` and cuts every error output down to the exception's type and
message, because a traceback quotes the failing line of code.

Hidden tests are removed from the instructor's test cells only (autograded, not written by the
student: ``grade`` and not ``solution``). A student who types ``### BEGIN HIDDEN TESTS`` into an
answer sees that answer in feedback as written, and nbgrader's check that stops feedback on a
hidden-test marker outside a grade cell is never reached for it.

(What feedback HTML may contain at all, script-free, is set on nbconvert's HTMLExporter in
``nbgrader_config.py``: see ``grading/pages/sanitize.py``.)
"""
from __future__ import annotations

from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests
from traitlets import List

from grading.cells import is_test_cell


class HideHiddenTests(ClearHiddenTests):
    """ClearHiddenTests for feedback, plus tracebacks reduced to their message."""

    display_data_priority: List[str] = List([], help=(
        "Not a course option: nbconvert's HTML exporter sets it on every preprocessor it runs "
        "(NbConvertBase); accepted here, unused.")).tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any],
                        cell_index: int) -> tuple[NotebookNode, dict[str, Any]]:
        if is_test_cell(cell):  # everything else is the student's own text: shown as written
            cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
