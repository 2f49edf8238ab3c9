"""release/ is exactly what nbgrader makes from source/, and none of the answers leak into it."""
import filecmp
import re

import nbformat
import pytest

from course_helpers import REPO, make_course
from grading.cells import is_written_answer
from grading.course import ASSIGNMENT, notebook_names


def test_release_is_current(tmp_path):
    """CI fails if release/ drifts from what `nbgrader generate_assignment` makes from source/."""
    fresh = make_course(tmp_path / "course") / "release" / ASSIGNMENT
    committed = REPO / "release" / ASSIGNMENT
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*")
                             if p.is_file() and "__pycache__" not in p.parts)
    assert fresh_files == committed_files, "release/ holds other files than source/ generates: run `make release`"
    stale = [str(f) for f in fresh_files if not filecmp.cmp(fresh / f, committed / f, shallow=False)]
    assert not stale, f"release/ is stale for {stale}: run `make release` and commit"


MARKERS = re.compile(r"### (BEGIN|END) (SOLUTION|HIDDEN TESTS)")


def _secret_and_visible_lines(nb):
    """Lines only the instructor may see (solutions, hidden tests, model answers, rubrics), and
    every line a student legitimately sees."""
    secret, visible = set(), set()
    for cell in nb.cells:
        if is_written_answer(cell):
            secret.update(cell.source.splitlines())
            continue
        region = None
        for line in cell.source.splitlines():
            m = MARKERS.search(line)
            if m:
                region = m.group(2) if m.group(1) == "BEGIN" else None
                continue
            (secret if region else visible).add(line)
    def strip(lines):
        return {line.strip() for line in lines if len(line.strip()) >= 12}
    return strip(secret), strip(visible)


@pytest.mark.parametrize("name", notebook_names())
def test_release_has_no_solutions_or_hidden_tests(name, source_notebooks):
    secret, visible = _secret_and_visible_lines(source_notebooks[name])
    assert secret, "the source notebook should hold solutions or hidden tests to check"
    only_secret = secret - visible  # a line that is also visible (e.g. a shared assert) is not a leak
    release_text = "\n".join(p.read_text() for p in (REPO / "release" / ASSIGNMENT).rglob("*")
                             if p.is_file() and p.suffix in {".ipynb", ".py", ".md", ".txt"})
    release_lines = set()
    for p in (REPO / "release" / ASSIGNMENT).glob("*.ipynb"):
        for cell in nbformat.read(p, as_version=4).cells:
            release_lines.update(line.strip() for line in cell.source.splitlines())
    release_lines.update(line.strip() for line in release_text.splitlines())
    leaked = sorted(only_secret & release_lines)
    assert not leaked, f"{len(leaked)} solution or hidden-test lines of {name} appear in release/: {leaked[:5]}"
    assert not MARKERS.search(release_text), "a BEGIN/END SOLUTION or HIDDEN TESTS marker is in release/"
