"""Put the instructor's cells back, whatever the student did to them.

nbgrader's ``OverwriteCells`` restores test cells from the gradebook, but:

- a restored (deleted) test cell then runs against the student's code and can pass, so deleting
  a test would cost nothing: here a restored code test cell fails first, with a message saying
  why, so it scores 0;
- it breaks (and the whole student fails to grade) on notebooks a student tampered with: grade
  flags or points edited, ids renamed or pasted twice, all cells deleted. Here the metadata of
  every known cell is reset from the gradebook first, unknown ids are dropped (the cell becomes
  an ordinary cell), and deleted cells are put back after the nearest instructor cell that
  survived.

Configured in ``nbgrader_config.py`` in place of ``OverwriteCells``. ``DropMalformedMetadata``
runs before every other preprocessor, against nbgrader's own crash on a cell whose ``nbgrader``
metadata is not a dict (a student's edit).
``CheckCellMetadata`` is nbgrader's, with its JSON schema compiled once per process.
"""
from __future__ import annotations

import traceback
from typing import Any

import jsonschema
from nbformat import NotebookNode
from nbgrader import preprocessors as nbgrader_preprocessors
from nbgrader.api import Gradebook
from nbgrader.nbgraderformat import MetadataValidator, SchemaTooNewError, SchemaTooOldError, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells

from grading.cells import grade_id

DELETED_TEST_MESSAGE = (
    "The test cell {cell_id!r} was deleted from this notebook. It has been put back and scores 0: "
    "never delete or re-create test cells (restore a notebook from the release if you did by accident).")


def malformed_cells(nb: NotebookNode) -> list[int]:
    """Indexes of cells whose ``nbgrader`` metadata is not a dict (nbgrader cannot read them).

    Reads the metadata raw, on purpose: grading/cells.py reads such metadata as none at all,
    which is right everywhere else but would hide exactly what is looked for here."""
    return [i for i, c in enumerate(nb.cells) if "nbgrader" in c.get("metadata", {})
            and not isinstance(c.metadata["nbgrader"], dict)]


class DropMalformedMetadata(NbGraderPreprocessor):
    """Drop ``nbgrader`` metadata that is not a dict from every cell. An
    instructor cell that loses its metadata this way is put back by RestoreMasterCells."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        for i in malformed_cells(nb):
            self.log.warning("Cell %d has nbgrader metadata that is not a dict (%r): ignored", i,
                             str(nb.cells[i].metadata["nbgrader"])[:80])
            del nb.cells[i].metadata["nbgrader"]
        return nb, resources


def _position(order: list[str], name: str, present: dict[str, int]) -> int:
    """Where the deleted cell ``name`` goes back: after the nearest instructor cell before it (in
    the source's ``order``) that survived (``present``: {grade_id: index}), else first."""
    earlier = order[:order.index(name)]
    anchors = [present[n] for n in earlier if n in present]
    return anchors[-1] + 1 if anchors else 0


class RestoreMasterCells(OverwriteCells):

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        with Gradebook(resources["nbgrader"]["db_url"]) as gb:
            master = gb.find_notebook(resources["nbgrader"]["notebook"], resources["nbgrader"]["assignment"])
            self._reset_metadata(nb, master)
        return super().preprocess(nb, resources)

    def _reset_metadata(self, nb: NotebookNode, master: Any) -> None:
        source = {c.name: c for c in master.source_cells}
        grades = {c.name: c for c in master.grade_cells}
        solutions = {c.name for c in master.solution_cells}
        for cell in nb.cells:
            # raw, not grading/cells.py: this rewrites the metadata in place (DropMalformedMetadata
            # has already removed any that is not a dict)
            meta = cell.metadata.get("nbgrader")
            if meta is None:
                continue
            name = meta.get("grade_id")
            if name not in source:
                self.log.warning("Dropping nbgrader metadata of a cell with unknown id %r", name)
                del cell.metadata["nbgrader"]
                continue
            meta.update(grade=name in grades, solution=name in solutions, locked=bool(source[name].locked),
                        task=False)
            if name in grades:
                meta["points"] = grades[name].max_score
            else:
                meta.pop("points", None)

    def add_missing_grade_cells(self, nb: NotebookNode,
                                resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        master = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [c.name for c in master.source_cells]
        source = {c.name: c for c in master.source_cells}
        solutions = {c.name for c in master.solution_cells}
        for grade_cell in master.grade_cells:
            present = {gid: i for i, c in enumerate(nb.cells) if (gid := grade_id(c))}
            if grade_cell.name in present:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", grade_cell.name)
            cell = self.missing_cell_transform(source[grade_cell.name], grade_cell.max_score,
                                               is_solution=grade_cell.name in solutions)
            nb.cells.insert(_position(order, grade_cell.name, present), cell)
        return nb, resources

    def add_missing_task_cells(self, nb: NotebookNode,
                               resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        return nb, resources  # this course has no task cells

    def missing_cell_transform(self, source_cell: Any, max_score: float, is_solution: bool = False,
                               is_task: bool = False) -> NotebookNode:
        cell = super().missing_cell_transform(source_cell, max_score, is_solution=is_solution, is_task=is_task)
        if cell["cell_type"] == "code" and not is_solution and not is_task:
            message = DELETED_TEST_MESSAGE.format(cell_id=source_cell.name)
            cell["source"] = f"assert False, {message!r}\n" + cell["source"]
        return cell


# ----------------------------------------------------------------------------- metadata checks
class _SchemaCheckedOnce(BaseMetadataValidator):
    """nbgrader's per-cell check of the metadata against its JSON schema, with the schema checked
    and its validator built once per process: ``jsonschema.validate`` re-checks the schema itself
    for every cell (twice per notebook per autograde, most of CheckCellMetadata's time). Same
    version checks, same validation, same first error (``best_match``) as nbgrader's."""

    _validators: dict[int, Any] = {}

    def validate_cell(self, cell: NotebookNode) -> None:
        if "nbgrader" not in cell.metadata:
            return
        schema = cell.metadata["nbgrader"].get("schema_version", 0)
        if schema < self.schema_version:
            raise SchemaTooOldError(f"Outdated schema version: {schema} (expected {self.schema_version})",
                                    schema, self.schema_version)
        if schema > self.schema_version:
            raise SchemaTooNewError(f"Schema version is too new: {schema} (expected {self.schema_version})",
                                    schema, self.schema_version)
        error = jsonschema.exceptions.best_match(self._validator().iter_errors(cell.metadata["nbgrader"]))
        if error is not None:
            raise error

    def _validator(self) -> Any:
        if self.schema_version not in self._validators:
            kind = jsonschema.validators.validator_for(self.schema)
            kind.check_schema(self.schema)
            self._validators[self.schema_version] = kind(self.schema)
        return self._validators[self.schema_version]


class _MetadataValidator(MetadataValidator, _SchemaCheckedOnce):
    """nbgrader's current metadata validator (its own checks of grade ids, points, cell types)
    on top of the schema check above."""


class CheckCellMetadata(nbgrader_preprocessors.CheckCellMetadata):
    """nbgrader's CheckCellMetadata (same checks, same errors), its schema compiled once."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        try:
            _MetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from None
        return nb, resources
