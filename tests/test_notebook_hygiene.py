"""The source notebooks follow the contract: ids, points, no stored outputs."""
import re
from collections import Counter

import pytest

from grading.cells import grade_id, is_answer_cell, is_grade, is_locked, points
from grading.course import notebook_names


def _grade_cells(nb):
    return [c for c in nb.cells if is_grade(c)]


def test_grade_ids_unique_across_the_assignment(source_notebooks):
    # nbgrader needs every id unique within its notebook. Graded and answer cells are unique across
    # the whole assignment too: the sample class and the score tables name them by grade_id alone.
    # Locked cells may repeat across notebooks (each notebook opens with "header" and "imports").
    for name, nb in source_notebooks.items():
        ids = [grade_id(c) for c in nb.cells if "nbgrader" in c.metadata]
        dupes = [i for i, n in Counter(ids).items() if n > 1]
        assert not dupes, f"duplicate grade_ids in {name}: {dupes}"
    ids = [grade_id(c) for nb in source_notebooks.values() for c in nb.cells if is_grade(c) or is_answer_cell(c)]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes, f"graded or answer cells with the same grade_id in two notebooks: {dupes}"
    ids = [grade_id(c) for nb in source_notebooks.values() for c in nb.cells if "nbgrader" in c.metadata]
    bad = [i for i in ids if not re.fullmatch(r"[a-z][a-z0-9_]*", i)]
    assert not bad, f"grade_ids should be snake_case: {bad}"


@pytest.mark.parametrize("name", notebook_names())
def test_points_match_the_header(name, source_notebooks):
    nb = source_notebooks[name]
    header = nb.cells[0]
    assert is_locked(header), "the first cell must be the locked header"
    total = sum(points(c) for c in _grade_cells(nb))
    m = re.search(r"worth \*\*(\d+) points\*\*", header.source)
    assert m, "the header must say 'worth **N points**'"
    assert int(m.group(1)) == total, f"header says {m.group(1)} points, the cells' metadata add up to {total}"
    rows = [int(p) for p in re.findall(r"^\|[^|]*\|[^|]*\|\s*(\d+)\s*\|", header.source, re.MULTILINE)]
    assert rows and sum(rows) == total, f"the header's table rows add up to {sum(rows)}, the cells to {total}"


def test_points_add_up_to_100(source_notebooks):
    assert len(source_notebooks) == 4, f"the assignment has four notebooks, found {sorted(source_notebooks)}"
    total = sum(points(c) for nb in source_notebooks.values() for c in _grade_cells(nb))
    assert total == 100, f"the assignment's points add up to {total}, not 100"


@pytest.mark.parametrize("name", notebook_names())
def test_no_outputs_stored_in_source(name, source_notebooks):
    stored = [i for i, c in enumerate(source_notebooks[name].cells)
              if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not stored, f"{name}: cells {stored} have stored outputs (clear them before committing)"


@pytest.mark.parametrize("name", notebook_names())
def test_every_graded_function_has_a_visible_and_a_hidden_check(name, source_notebooks):
    nb = source_notebooks[name]
    tests = [c for c in _grade_cells(nb) if c.cell_type == "code"]
    assert tests, f"{name} has no test cells"
    assert all("### BEGIN HIDDEN TESTS" in c.source or "assert" in c.source for c in tests)
    assert any("### BEGIN HIDDEN TESTS" in c.source for c in tests)
    for c in tests:
        assert "assert " in c.source or "raise AssertionError" in c.source, \
            f"test cell {grade_id(c)} checks nothing"
