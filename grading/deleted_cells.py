"""A deleted test cell is put back and scores zero.

nbgrader's ``OverwriteCells.add_missing_cells`` restores a test cell the student deleted, but the
restored cell then runs against the student's code and can pass: deleting a test would cost
nothing. This subclass makes a restored *code* test cell fail first, with a message that says
why, so it scores 0 and the student's feedback explains it. Configured in ``nbgrader_config.py``
in place of ``OverwriteCells``.
"""
from nbgrader.preprocessors import OverwriteCells

DELETED_TEST_MESSAGE = (
    "The test cell {cell_id!r} was deleted from this notebook. It has been put back and scores 0: "
    "never delete or re-create test cells (restore a notebook from the release if you did by accident).")


class RestoreDeletedTestsAsFailures(OverwriteCells):
    def missing_cell_transform(self, source_cell, max_score, is_solution=False, is_task=False):
        cell = super().missing_cell_transform(source_cell, max_score, is_solution=is_solution, is_task=is_task)
        if cell["cell_type"] == "code" and not is_solution and not is_task:
            message = DELETED_TEST_MESSAGE.format(cell_id=source_cell.name)
            cell["source"] = f"assert False, {message!r}\n" + cell["source"]
        return cell
