"""The parallel runner grades exactly as stock nbgrader does, and keeps graders' work on regrade."""
import sys

import nbformat

from course_helpers import grade_table, make_course, run
from grading import sample_class
from grading.course import ASSIGNMENT


def test_grades_identical_to_stock_nbgrader(graded_class, tmp_path):
    root = make_course(tmp_path / "stock")
    run([sys.executable, "-m", "grading.sample_class"], cwd=root)
    # stock nbgrader, one process; it exits 1 because of the broken notebook, and grades the rest
    import subprocess
    from course_helpers import course_env
    subprocess.run(["nbgrader", "autograde", ASSIGNMENT, "--force"], cwd=root, env=course_env(),
                   capture_output=True)
    stock, ours = grade_table(root), graded_class["table"]
    broken = {s.id for s in sample_class.STUDENTS if s.invalid_json}
    for student in set(ours) - broken:
        assert ours[student] == stock[student], f"{student}: runner and stock nbgrader disagree"
    for student in broken:  # stock fails the whole student; the runner zeroes only the broken notebook
        nb = next(s for s in sample_class.STUDENTS if s.id == student).invalid_json
        source = nbformat.read(graded_class["root"] / "source" / ASSIGNMENT / f"{nb}.ipynb", as_version=4)
        cells = {c.metadata["nbgrader"]["grade_id"] for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")}
        assert cells and all(ours[student][gid][0] == 0 for gid in cells), (student, nb)


def _set_manual(root, student, grade_id, notebook, score, comment):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        grade = gb.find_grade(grade_id, notebook, ASSIGNMENT, student)
        grade.manual_score = score
        grade.needs_manual_grade = False
        gb.find_comment(grade_id, notebook, ASSIGNMENT, student).manual_comment = comment
        gb.db.commit()


def _manual_state(root, student, grade_id, notebook):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        grade = gb.find_grade(grade_id, notebook, ASSIGNMENT, student)
        comment = gb.find_comment(grade_id, notebook, ASSIGNMENT, student)
        return grade.manual_score, comment.manual_comment, grade.needs_manual_grade


def test_regrade_keeps_manual_grades_of_unchanged_answers(tmp_path):
    root = make_course(tmp_path / "course")
    reference = next(s for s in sample_class.STUDENTS if s.id == "reference")
    sample_class.build(root / "submitted", [reference], root / "source" / ASSIGNMENT, root / "release" / ASSIGNMENT)
    grade = [sys.executable, "-m", "grading.runner", "--workers", "1"]
    run(grade, cwd=root)
    q1 = sample_class.Q1
    _set_manual(root, "reference", "derivation", q1, 7.0, "Good; say why w_ij touches only z_j.")

    # resubmission: the code changed (now wrong), the written derivation did not
    path = root / "submitted" / "reference" / ASSIGNMENT / f"{q1}.ipynb"
    nb = nbformat.read(path, as_version=4)
    sample_class.apply_edit(nb, sample_class.Edit(q1, "ce_grad_logits", "return P - onehot", "return P"), "reference")
    nbformat.write(nb, path)
    run(grade, cwd=root)
    assert _manual_state(root, "reference", "derivation", q1) == (7.0, "Good; say why w_ij touches only z_j.", False)
    assert grade_table(root)["reference"]["test_ce_grad_logits_single"][0] == 0  # the code was regraded

    # a changed derivation keeps the old grade visible but asks for review
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "derivation")
    cell.source += "\n\nAdded after the deadline."
    nbformat.write(nb, path)
    run(grade, cwd=root)
    assert _manual_state(root, "reference", "derivation", q1)[2] is True


def test_runner_reports_progress_and_names_failures(graded_class):
    err = graded_class["stderr"]
    assert f"graded {len(graded_class['table'])}/{len(graded_class['table'])}" in err
    assert "failures 0" in err and "left" in err


def _auto_scores(root):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        return {s.student_id: {g.name: g.auto_score for nb in s.notebooks for g in nb.grades}
                for s in gb.assignment_submissions(ASSIGNMENT)}


def test_grading_three_times_gives_identical_grades(graded_class):
    """The sample class graded once by the fixture, then twice more: every automatic score the same."""
    root = graded_class["root"]
    first = _auto_scores(root)
    for _ in range(2):
        run([sys.executable, "-m", "grading.runner", "--workers", "2"], cwd=root)
        assert _auto_scores(root) == first
