"""The instructor's report names misconceptions, not only test cells.

Several test cells of a function fail together for one mistake, and a student who never wrote a
function fails all of its cells without holding any misconception. So the report reads the
verdicts the grader wrote into the graded copies (``autograded/<student>/<assignment>/``) and,
per function (the answer cell a test cell is named after):

- a test that failed because the stub still raises ``NotImplementedError`` (or a name the
  answer cell should define does not exist) counts the student as **not attempted** for that
  function, listed apart;
- a failure whose message carries a hint (``-- hint: ...``: the tests name the common mistakes)
  counts under that hint (the first one in the notebook, so one mistake counts once);
- any other failure counts under the group of that function's cells that failed together for
  the student ("fails test_a, test_b").

Each misconception: how many students, which ones, and one example message.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

from grading.cells import Cell, grade_id, is_answer_cell, is_test_cell
from grading.course import ASSIGNMENT, COURSE_ROOT
from grading.reports.page import escape, png_base64

HINT = re.compile(r"-- hint:\s*(.+?)(?:\n|$)")
_HEADER = ("<tr><th>#</th><th>function</th><th>misconception</th><th>students</th><th>who</th>"
           "<th>example</th></tr>")


# a failed test cell: its grade_id and its first error output
Failure = tuple[str, dict[str, Any]]


@dataclass
class Misconception:
    function: str
    label: str
    students: set[str] = field(default_factory=set)
    example: str = ""


def _owner(test_id: str, answers: Sequence[str | None], previous: str | None) -> str:
    """The answer cell a test cell belongs to: the longest answer id it is named after, else the
    answer cell just before it (a ``test_count`` after the answer cell ``facts`` belongs to ``facts``)."""
    owners = [a for a in answers if a is not None and test_id.startswith(f"test_{a}_")]
    return max(owners, key=len) if owners else (previous or test_id.removeprefix("test_"))


def _first_error(cell: Cell) -> dict[str, Any] | None:
    return next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)


def _failures(nb: NotebookNode) -> dict[str, list[Failure]]:
    """{function: [(test cell id, its first error output)]} of the test cells that failed."""
    answers = [grade_id(c) for c in nb.cells if is_answer_cell(c)]
    failing: dict[str, list[Failure]] = {}
    previous = None
    for cell in nb.cells:
        if is_answer_cell(cell) and cell.cell_type == "code":
            previous = grade_id(cell)
        error = _first_error(cell) if is_test_cell(cell) else None
        if error is not None:
            test_id = grade_id(cell) or ""
            failing.setdefault(_owner(test_id, answers, previous), []).append((test_id, error))
    return failing


def _label(failures: list[Failure]) -> tuple[str, dict[str, Any]]:
    """(label, example error) of one student's failures of one function: the first hint in
    notebook order names the mistake (one mistake per student and function), else the cells."""
    hinted = [(m.group(1).strip()[:200], e) for _, e in failures
              for m in [HINT.search(e.get("evalue", ""))] if m]
    if hinted:
        return hinted[0]
    return "fails " + ", ".join(sorted(g for g, _ in failures)), failures[0][1]


DELETED = "was deleted from this notebook"  # grading/step/master_cells.py's message on a restored test


def _without_deleted(student: str, failures: list[Failure],
                     deleted: dict[str, list[str]] | None) -> list[Failure]:
    """``failures`` less those of test cells the student deleted (recorded into ``deleted``)."""
    gone = [t for t, e in failures if DELETED in e.get("evalue", "")]
    if gone and deleted is not None:
        deleted.setdefault(student, []).extend(gone)
    return [(t, e) for t, e in failures if t not in gone]


def _count(student: str, failing: dict[str, list[Failure]], found: dict[tuple[str, str], Misconception],
           skipped: dict[str, set[str]], deleted: dict[str, list[str]] | None = None,
           unchanged: Collection[str | None] = frozenset()) -> None:
    """Count one student's failures into ``found`` (misconceptions) and ``skipped`` (not
    attempted: the answer cell is the release's stub, or the stub still raises); a test cell the
    student deleted (put back, scored 0) is a process problem, not a misconception: into
    ``deleted`` ({student: [test ids]})."""
    for function, all_failures in failing.items():
        failures = _without_deleted(student, all_failures, deleted)
        if not failures:
            continue
        # the answer is the stub as released, the stub still raises, or its names do not exist
        if function in unchanged or any(e.get("ename") in ("NotImplementedError", "NameError") for _, e in failures):
            skipped.setdefault(function, set()).add(student)
            continue
        label, error = _label(failures)
        item = found.setdefault((function, label), Misconception(function, label))
        item.students.add(student)
        item.example = item.example or f"{error.get('ename', 'Error')}: {error.get('evalue', '')}"[:400]


def collect(root: str | Path = COURSE_ROOT,
            deleted: dict[str, list[str]] | None = None) -> tuple[list[Misconception], dict[str, list[str]]]:
    """(misconceptions most common first, {function: students who did not attempt it}).
    ``deleted``: a dict filled with {student: [test cell ids they deleted]}."""
    import nbformat
    found: dict[tuple[str, str], Misconception] = {}
    skipped: dict[str, set[str]] = {}
    stubs = release_stubs(root)
    for path in sorted(Path(root, "autograded").glob(f"*/{ASSIGNMENT}/*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # a graded copy that cannot be read has nothing to say here
            continue
        _count(path.parts[-3], _failures(nb), found, skipped, deleted, _unchanged(nb, stubs.get(path.stem, {})))
    ranked = sorted(found.values(), key=lambda m: (-len(m.students), m.function, m.label))
    return ranked, {f: sorted(s) for f, s in sorted(skipped.items())}


def release_stubs(root: str | Path = COURSE_ROOT) -> dict[str, dict[str | None, str]]:
    """{notebook: {answer cell id: its text as released}} (what a student who wrote nothing has)."""
    import nbformat
    out: dict[str, dict[str | None, str]] = {}
    for path in sorted(Path(root, "release", ASSIGNMENT).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        out[path.stem] = {grade_id(c): c.source.strip() for c in nb.cells
                          if is_answer_cell(c) and c.cell_type == "code"}
    return out


def _unchanged(nb: NotebookNode, stubs: dict[str | None, str]) -> set[str | None]:
    """The code answer cells of a graded notebook still exactly as released."""
    return {grade_id(c) for c in nb.cells
            if is_answer_cell(c) and c.cell_type == "code" and stubs.get(grade_id(c)) == c.source.strip()}


def owners(root: str | Path = COURSE_ROOT) -> dict[str, str]:
    """{test cell id: the function (answer cell) it tests}, read from the source notebooks."""
    import nbformat
    out: dict[str, str] = {}
    for path in sorted(Path(root, "source", ASSIGNMENT).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        answers = [grade_id(c) for c in nb.cells if is_answer_cell(c)]
        previous = None
        for cell in nb.cells:
            if is_answer_cell(cell) and cell.cell_type == "code":
                previous = grade_id(cell)
            if is_test_cell(cell):
                test_id = grade_id(cell) or ""
                out[test_id] = _owner(test_id, answers, previous)
    return out


def describe(ranked: list[Misconception], top: int = 8) -> str:
    """The bar chart in words (its alt text)."""
    if not ranked:
        return "No misconceptions: every attempted function passed its tests."
    parts = [f"{m.function}, {m.label}: {len(m.students)} students" for m in ranked[:top]]
    return "Bar chart of the most common misconceptions, by number of students. " + "; ".join(parts) + "."


def _chart(ranked: list[Misconception], top: int = 8) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = ranked[:top][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(shown) + 1))
    ax.barh([f"{m.function}: {m.label[:50]}" for m in shown], [len(m.students) for m in shown], color="#a5553b")
    ax.set_xlabel("students")
    fig.tight_layout()
    return png_base64(fig)


def report_section(root: str | Path = COURSE_ROOT) -> str:
    """The report's misconceptions section (everything from the notebooks escaped)."""
    e = escape
    ranked, skipped = collect(root)
    rows = "\n".join(
        f"<tr><td>{i}</td><td><code>{e(m.function)}</code></td><td>{e(m.label)}</td><td>{len(m.students)}</td>"
        f"<td>{e(', '.join(sorted(m.students)))}</td><td><pre>{e(m.example)}</pre></td></tr>"
        for i, m in enumerate(ranked, 1)) or "<tr><td colspan=6>none</td></tr>"
    not_attempted = "\n".join(
        f"<tr><td><code>{e(f)}</code></td><td>{len(s)}</td><td>{e(', '.join(s))}</td></tr>"
        for f, s in skipped.items()) or "<tr><td colspan=3>everyone attempted everything</td></tr>"
    chart = (f'<img alt="{e(describe(ranked))}" src="data:image/png;base64,{_chart(ranked)}">' if ranked else "")
    return f"""<h2>Misconceptions</h2>
<p>The mistakes the tests named (their hints), or the cells of a function that failed together,
most common first. Students who never wrote a function are listed apart, below.</p>
{chart}
<table id="misconceptions">{_HEADER}
{rows}</table>
<h2>Not attempted</h2>
<table id="not-attempted"><tr><th>function</th><th>students</th><th>who</th></tr>
{not_attempted}</table>
"""
