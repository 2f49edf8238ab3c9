"""Feedback that keeps hidden tests hidden (nbgrader issue #917).

nbgrader restores every test cell from the gradebook before grading, hidden tests included,
and ``generate_feedback`` renders those cells as they are. This preprocessor runs inside
``generate_feedback`` (see ``nbgrader_config.py``): it removes the hidden-test regions with
nbgrader's own ``ClearHiddenTests`` and cuts every error output down to the exception's type and
message, because a traceback quotes the failing line of code.
"""
from nbgrader.preprocessors import ClearHiddenTests
from traitlets import List


class HideHiddenTests(ClearHiddenTests):
    """ClearHiddenTests for feedback, plus tracebacks reduced to their message."""

    # the HTML exporter configures this on every preprocessor it runs; accept it quietly
    display_data_priority = List([]).tag(config=True)

    def __init__(self, **kw):
        super().__init__(**kw)
        # A student may type the marker into an answer cell; that must not stop feedback.
        self.enforce_metadata = False

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
