"""grading.step.save_grades.SaveAutoGrades writes what nbgrader's SaveAutoGrades writes, in one commit
per notebook instead of one per grade and comment."""
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades as NbgraderSaveAutoGrades
from sqlalchemy import event
from sqlalchemy.orm import Session

from grading.step.save_grades import SaveAutoGrades


def _meta(grade_id, grade, solution, points=None):
    meta = {"grade": grade, "solution": solution, "locked": not solution, "grade_id": grade_id,
            "schema_version": 3}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _notebook():
    """Two passing tests, one failing, one with partial credit, an answer, a written answer."""
    error = new_output("error", ename="AssertionError", evalue="wrong", traceback=["AssertionError: wrong"])
    partial = new_output("execute_result", data={"text/plain": "1.5"}, execution_count=1)
    return new_notebook(cells=[
        new_code_cell("def f(): pass", metadata=_meta("answer", False, True)),
        new_code_cell("assert f() is None", metadata=_meta("test_ok", True, False, 2)),
        new_code_cell("assert f() == 1", metadata=_meta("test_fails", True, False, 3), outputs=[error]),
        new_code_cell("1.5", metadata=_meta("test_partial", True, False, 2), outputs=[partial]),
        new_code_cell("assert True", metadata=_meta("test_ok_2", True, False, 1)),
        new_markdown_cell("YOUR ANSWER HERE", metadata=_meta("written", True, True, 4)),
    ])


def _gradebook(path):
    nb = _notebook()
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.add_assignment("a")
        gb.add_notebook("n", "a")
        for cell in nb.cells:
            meta = cell.metadata.nbgrader
            if meta["grade"]:
                gb.add_grade_cell(meta["grade_id"], "n", "a", max_score=meta["points"], cell_type=cell.cell_type)
            if meta["solution"]:
                gb.add_solution_cell(meta["grade_id"], "n", "a")
            gb.add_source_cell(meta["grade_id"], "n", "a", cell_type=cell.cell_type, locked=meta["locked"],
                               source=cell.source, checksum=None)
        gb.add_student("s")
        gb.add_submission("a", "s")


def _written(path):
    with Gradebook(f"sqlite:///{path}") as gb:
        nb = gb.find_submission_notebook("n", "a", "s")
        grades = {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades}
        comments = {c.name: c.auto_comment for c in nb.comments}
    return grades, comments


@pytest.mark.filterwarnings("ignore:Object of type")  # nbgrader's add_submission, known noise
def test_the_same_grades_and_comments_in_one_commit(tmp_path):
    _gradebook(tmp_path / "ours.db")
    shutil.copy(tmp_path / "ours.db", tmp_path / "nbgrader.db")
    commits = []

    def count(session):
        commits.append(session)
    event.listen(Session, "after_commit", count)
    try:
        with Gradebook(f"sqlite:///{tmp_path / 'ours.db'}"):
            opening = len(commits)  # what opening a gradebook commits (nbgrader's course check)
        written, counted = {}, {}
        for name, kind in (("nbgrader", NbgraderSaveAutoGrades), ("ours", SaveAutoGrades)):
            commits.clear()
            resources = {"nbgrader": {"notebook": "n", "assignment": "a", "student": "s",
                                      "db_url": f"sqlite:///{tmp_path / name}.db"}}
            kind().preprocess(nbformat.from_dict(_notebook()), resources)
            counted[name] = len(commits)
            written[name] = _written(tmp_path / f"{name}.db")
    finally:
        event.remove(Session, "after_commit", count)
    grades, comments = written["ours"]
    assert written["ours"] == written["nbgrader"]
    assert grades["test_ok"] == (2, False) and grades["test_fails"] == (0, False) and grades["test_partial"][0] == 1.5
    assert grades["written"] == (None, True) and comments["answer"] is None
    assert counted["nbgrader"] == opening + 7 and counted["ours"] == opening + 1, (opening, counted)
