"""The instructor's view: after grading, the formgrader lists the assignment and the sample
class, and a written answer graded through the page lands in the gradebook.

The course here is its own copy (grading through the page must not change the gradebook other
tests read): a copy of the sample class as the runner graded it for the whole suite
(conftest.graded_class), with the autograding of all but three students undone (their
submissions removed from the gradebook, their graded copies deleted). So the whole class is
submitted and in the gradebook, three of them autograded, as after `make autograde` of those
three: the page sees students in every state without grading anyone again."""
import shutil

import pytest
from playwright.sync_api import expect

from browser_helpers import Lab, grade_with_rubric, open_formgrader, ready_to_grade
from grading.course import ASSIGNMENT
from ml_conceptual.sample_class import Q1, STUDENTS

# autograded here, with the status the formgrader must show (the untouched release has no written
# answer to grade: nbgrader scores an unchanged answer 0 on its own)
AUTOGRADED = {"reference": "needs manual grading", "untouched": "graded", "q1_flipped_sign": "needs manual grading"}


@pytest.fixture(scope="module")
def course(graded_class, tmp_path_factory):
    from nbgrader.api import Gradebook
    root = tmp_path_factory.mktemp("formgrader_course") / "course"
    shutil.copytree(graded_class["root"], root, ignore=shutil.ignore_patterns("feedback*", "reports"))
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        for student in STUDENTS:
            if student.id not in AUTOGRADED:
                gb.remove_submission(ASSIGNMENT, student.id)
                shutil.rmtree(root / "autograded" / student.id)
        assert {s.student_id for s in gb.assignment_submissions(ASSIGNMENT)} == set(AUTOGRADED)
        assert {s.id for s in gb.students} == {s.id for s in STUDENTS}
    assert (root / "submitted").is_dir() and len(list((root / "submitted").iterdir())) == len(STUDENTS)
    return root


@pytest.fixture(scope="module")
def instructor_lab(course, tmp_path_factory):
    lab = Lab(course, tmp_path_factory.mktemp("state"))
    yield lab
    lab.stop()


def test_formgrader_lists_class_and_saves_a_manual_grade(instructor_lab, course, browser, shots):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []  # uncaught script errors of JupyterLab or a formgrader page (offline: MathJax)
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        frame = open_formgrader(page, instructor_lab)
        frame.locator(f"a[href*='manage_submissions/{ASSIGNMENT}']").first.wait_for(timeout=60000)
        shots(page, "assignments")
        frame.locator(f"a[href*='manage_submissions/{ASSIGNMENT}']").first.click()
        expect(frame.locator("table tbody tr")).to_have_count(len(STUDENTS), timeout=30000)  # one row each
        listed = frame.locator("table tbody").inner_text()
        shots(page, "submissions")
        missing = [s.id for s in STUDENTS if s.id not in listed]
        assert not missing, f"formgrader does not list {missing}"
        # each row reads "None, None <id> ..."
        rows = {row.split()[2]: row for row in frame.locator("table tbody tr").all_inner_texts()}
        for student in STUDENTS:
            expected = AUTOGRADED.get(student.id, "needs autograding")
            assert expected in rows.get(student.id, ""), \
                f"{student.id}: expected {expected!r}, row {rows.get(student.id)!r}"

        # grade the written derivation of the reference student through the page
        frame.locator("a[href*='/gradebook']").first.click()
        frame.locator(f"a[href*='gradebook/{ASSIGNMENT}']").first.click()
        frame.locator(f"a[href*='gradebook/{ASSIGNMENT}/{Q1}']").first.click()
        # submission links are anonymous ("Submission #n"): find the reference's by its id
        from nbgrader.api import Gradebook
        with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
            sub_id = gb.find_submission_notebook(Q1, ASSIGNMENT, "reference").id
        link = frame.locator(f"a[href*='submissions/{sub_id}']").first
        expect(link).to_be_visible(timeout=30000)
        shots(page, "notebook_submissions")
        link.click()
        score = frame.locator("input.score").first
        score.wait_for(timeout=30000)
        ready_to_grade(frame)
        expected = grade_with_rubric(frame, "derivation", ("1", "2", "3"), Q1)  # rubric items, by keyboard
        expect(score).to_have_value(f"{expected:g}", timeout=10000)
        score.scroll_into_view_if_needed()
        shots(page, "graded")
        with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
            grade = gb.find_grade("derivation", Q1, ASSIGNMENT, "reference")
            comment_row = gb.find_comment("derivation", Q1, ASSIGNMENT, "reference")
            assert grade.manual_score == expected > 0
            assert comment_row.manual_comment  # the items applied, as the student will read them
        assert not errors, f"script errors on the instructor's pages: {errors}"
    finally:
        page.close()
