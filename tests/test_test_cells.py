"""The rules test cells follow (docs/test-cells.md), checked on the source notebooks; the doc's
budgets read from where they are set."""
import ast
import builtins
import importlib
import re

import nbformat
import pytest
from test_mutation_corpus import REPO

from grading.cells import is_answer_cell, is_setup_cell, is_test_cell
from grading.course import ASSIGNMENT, notebook_names
from grading.step.verdicts import (
    _bound_and_loaded,
    inspects_source,
    reads_arguments_after_calls,
    setup_statements,
    solution_names,
    statement_binds,
)

RELEASE = REPO / "release" / ASSIGNMENT
SOURCE = REPO / "source" / ASSIGNMENT


def _student_names(name):
    """The names the release's solution stubs bind: what the gradebook's copy gives the grader."""
    nb = nbformat.read(RELEASE / f"{name}.ipynb", as_version=4)
    return solution_names(c.source for c in nb.cells if c.cell_type == "code" and is_answer_cell(c))


def _test_cells(name):
    return [c for c in nbformat.read(SOURCE / f"{name}.ipynb", as_version=4).cells if is_test_cell(c)]


@pytest.mark.parametrize("name", notebook_names())
def test_every_name_a_test_reads_is_its_own_the_set_ups_or_a_student_name(name):
    nb = nbformat.read(SOURCE / f"{name}.ipynb", as_version=4)
    student = _student_names(name)
    known = set(dir(builtins))
    for cell in nb.cells:
        if is_setup_cell(cell):
            known |= {n for s in setup_statements(cell.source) for n in statement_binds(s)}
        if is_test_cell(cell):
            bound, loaded = _bound_and_loaded(ast.parse(cell.source))
            unknown = loaded - bound - known - student
            gid = cell.metadata["nbgrader"]["grade_id"]
            assert not unknown, f"{gid} reads {sorted(unknown)}, which only the kernel has"
            known |= bound - student


@pytest.mark.parametrize("name", notebook_names())
def test_no_test_reads_an_argument_after_a_call_to_see_what_the_call_did(name):
    student = _student_names(name)
    found = {c.metadata["nbgrader"]["grade_id"]: reads_arguments_after_calls(c.source, student)
             for c in _test_cells(name)}
    assert not {k: v for k, v in found.items() if v}, "use changed_arguments(f, *args) instead"


def test_the_rule_finds_what_it_is_for():
    student = {"softmax", "relu"}
    assert reads_arguments_after_calls("z = make()\nz0 = z.copy()\nsoftmax(z)\nassert np.array_equal(z, z0)", student)
    zipped = "a = (x, y)\nrelu(*a)\nok = [np.array_equal(p, q) for p, q in zip(a, b)]"
    assert reads_arguments_after_calls(zipped, student)
    assert not reads_arguments_after_calls("z = make()\nsoftmax(z.copy())\nassert np.array_equal(z, z0)", student)
    assert not reads_arguments_after_calls("c = int(k)\nsoftmax(z, c)\nassert c == 1", student)
    assert not reads_arguments_after_calls("out = relu(a)\nassert out is not a", student)
    observed = "assert not changed_arguments(relu, a)\nassert 0 not in changed_arguments(relu, a)"
    assert not reads_arguments_after_calls(observed, student)


def test_the_tests_that_read_source_say_so():
    """A test that reads a student's source imports inspect, so it runs against a kernel that holds
    only the text it reads (grading/step/execute.py); python_loops reads source."""
    readers = [c for n in notebook_names() for c in _test_cells(n) if "python_loops(" in c.source]
    assert readers and all(inspects_source(c.source) for c in readers)


def _budget(value):
    """A budget as docs/test-cells.md writes it: 16 MiB, 2 GiB, 500,000."""
    for unit, shift in (("GiB", 30), ("MiB", 20)):
        if value >= 1 << shift and value % (1 << shift) == 0:
            return f"{value >> shift} {unit}"
    return f"{value:,}"


def test_the_budgets_docs_test_cells_md_states_are_the_codes(monkeypatch):
    from grading.course import load_config
    from grading.settings import ENVIRONMENT_OVERRIDES
    for name in ENVIRONMENT_OVERRIDES:
        monkeypatch.delenv(name, raising=False)
    config = load_config()
    doc = (REPO / "docs" / "test-cells.md").read_text()
    rows = re.findall(r"^\| [^|]+ \| ([^|]+) \| `([\w.]+)` \|$", doc.split("## Budgets", 1)[1], re.M)
    assert len(rows) >= 10, rows
    for stated, where in rows:
        if where.startswith("c."):
            _, section, option = where.split(".")
            value = config[section][option]
        else:
            module, _, name = where.rpartition(".")
            value = getattr(importlib.import_module(module), name)
        assert stated.startswith(_budget(value) + " ") or stated == _budget(value), (where, stated, value)
