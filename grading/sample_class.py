"""A course's sample class: submissions made from the source solutions.

The course names its students in a module of its own (``c.Course.sample_class``: a list
``STUDENTS`` of ``SampleStudent``); this module builds them. Every student starts from the release
copy of each notebook (what students download), with the instructor's solution code pasted into
the answer cells; a misconception student then has a few exact edits applied. Because the edits
name the cell and the text they change, the class follows the notebooks as they change, and an
edit that no longer applies is an error, not a silently correct student.

    python -m grading.sample_class [--out submitted]
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from grading.cells import grade_id, is_answer_cell
from grading.course import ASSIGNMENT, RELEASE, SOURCE, SUBMITTED

_MOVED = {"STUDENTS", "Q1", "Q2", "Q3", "Q4"}  # this repository's course, before they left the engine


def course_students(root: str | Path | None = None) -> list[SampleStudent]:
    """The course's sample students (its ``c.Course.sample_class`` module's STUDENTS)."""
    from grading.course import sample_class
    module = sample_class(root)
    if module is None:
        raise LookupError("this course names no sample class: set c.Course.sample_class in nbgrader_config.py "
                          "to the dotted name of a module whose STUDENTS lists grading.sample_class.SampleStudent")
    return list(module.STUDENTS)


def __getattr__(name: str) -> Any:
    """grading.sample_class.STUDENTS and .Q1-.Q4 of the course, for one release: they are the course's."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import warnings

    from grading.course import sample_class
    warnings.warn(f"grading.sample_class.{name} is the course's: import it from the module "
                  "c.Course.sample_class names", DeprecationWarning, stacklevel=2)
    return getattr(sample_class(), name)


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` (which must occur exactly once) by ``new`` in one answer cell."""
    notebook: str
    cell: str  # grade_id of the answer cell
    old: str
    new: str


@dataclass(frozen=True)
class SampleStudent:
    id: str
    story: str  # what this student did, one line
    edits: tuple[Edit, ...] = ()
    untouched: bool = False  # submits the release as downloaded
    deleted_cell: tuple[str, ...] = ()  # (notebook, grade_id) of a test cell the student deleted
    invalid_json: str = ""  # notebook whose file the student broke
    written: bool = True  # fills the written answers


_SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)


def solution_code(cell: NotebookNode) -> str:
    """The source cell's code as a student who solved it would write it (markers removed)."""
    return _SOLUTION_MARKERS.sub("", cell.source + "\n").rstrip("\n")


def written_answer(cell: NotebookNode) -> str:
    """A student's written answer: the model answer without the grader's rubric."""
    return cell.source.split("\n---\n**Rubric")[0].replace("**Model answer.**", "").strip()


def solved_notebook(name: str, source_dir: str | Path = SOURCE, release_dir: str | Path = RELEASE,
                    written: bool = True) -> NotebookNode:
    """The release notebook with every answer cell filled from the source solution."""
    release = nbformat.read(Path(release_dir) / f"{name}.ipynb", as_version=4)
    source = {grade_id(c): c for c in nbformat.read(Path(source_dir) / f"{name}.ipynb", as_version=4).cells
              if grade_id(c)}
    for cell in release.cells:
        if not is_answer_cell(cell):
            continue
        src = source[grade_id(cell)]
        if cell.cell_type == "code":
            cell.source = solution_code(src)
        elif written:
            cell.source = written_answer(src)
    return release


def apply_edit(nb: NotebookNode, edit: Edit, student_id: str) -> None:
    for cell in nb.cells:
        if grade_id(cell) == edit.cell:
            count = cell.source.count(edit.old)
            if count != 1:
                raise ValueError(
                    f"sample student {student_id!r}: the edit {edit.old!r} -> {edit.new!r} matches "
                    f"{count} times in cell {edit.cell!r} of {edit.notebook}.ipynb (expected once); "
                    "the solution changed: update the course's sample class (c.Course.sample_class)")
            cell.source = cell.source.replace(edit.old, edit.new)
            return
    raise ValueError(f"sample student {student_id!r}: no cell {edit.cell!r} in {edit.notebook}.ipynb")


def _delete_cell(nb: NotebookNode, student: SampleStudent) -> None:
    """The student's deleted test cell taken out of ``nb`` (it must be there, once)."""
    before = len(nb.cells)
    nb.cells = [c for c in nb.cells if grade_id(c) != student.deleted_cell[1]]
    if len(nb.cells) != before - 1:
        raise ValueError(f"sample student {student.id!r}: no cell {student.deleted_cell[1]!r} to delete")


def _student_notebook(student: SampleStudent, name: str, source_dir: str | Path, release_dir: str | Path) -> str:
    """One notebook of one sample student, as the text of the file they submit."""
    if student.untouched:
        nb = nbformat.read(Path(release_dir) / f"{name}.ipynb", as_version=4)
    else:
        nb = solved_notebook(name, source_dir, release_dir, written=student.written)
    for edit in student.edits:
        if edit.notebook == name:
            apply_edit(nb, edit, student.id)
    if student.deleted_cell and student.deleted_cell[0] == name:
        _delete_cell(nb, student)
    text = nbformat.writes(nb)
    if student.invalid_json == name:
        text = text[: len(text) // 2]  # an upload cut off half-way
    return text


def student_notebooks(student: SampleStudent, source_dir: str | Path = SOURCE,
                      release_dir: str | Path = RELEASE) -> dict[str, str]:
    """{notebook name: notebook text} for one sample student."""
    names = sorted(p.stem for p in Path(source_dir).glob("*.ipynb"))
    out = {name: _student_notebook(student, name, source_dir, release_dir) for name in names}
    for edit in student.edits:
        if edit.notebook not in names:
            raise ValueError(f"sample student {student.id!r}: no notebook {edit.notebook}.ipynb")
    return out


def build(out_dir: str | Path = SUBMITTED, students: Sequence[SampleStudent] | None = None,
          source_dir: str | Path = SOURCE, release_dir: str | Path = RELEASE) -> list[str]:
    """Write every sample student's submission (default: the course's) to out_dir/<student>/<assignment>/."""
    out_dir = Path(out_dir)
    students = course_students() if students is None else students
    for student in students:
        folder = out_dir / student.id / ASSIGNMENT
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name, text in student_notebooks(student, source_dir, release_dir).items():
            (folder / f"{name}.ipynb").write_text(text)
        for helper in Path(release_dir).glob("*.py"):  # students download the helpers too
            shutil.copy(helper, folder / helper.name)
    return [s.id for s in students]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(SUBMITTED), help="where to write the class")
    args = parser.parse_args(argv)
    try:
        students = course_students()
    except LookupError as error:
        sys.exit(str(error))
    ids = build(Path(args.out), students)
    print(f"sample class: {len(ids)} students written to {Path(args.out).name}/: {', '.join(ids)}")


if __name__ == "__main__":
    main()
