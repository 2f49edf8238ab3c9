"""The instructor's view: after grading, the formgrader lists the assignment and the sample
class, and a written answer graded through the page lands in the gradebook.

The course here is its own copy (grading through the page must not change the gradebook other
tests read): the whole sample class submitted and in the gradebook, three of them autograded as
`make demo` does it (the runner). Grading all 23 would triple the suite's time and show the page
nothing new."""
import re
import sys

import pytest

from browser_helpers import Lab
from course_helpers import make_course, run
from grading.course import ASSIGNMENT
from grading.sample_class import Q1, STUDENTS

# autograded here, with the status the formgrader must show (the untouched release has no written
# answer to grade: nbgrader scores an unchanged answer 0 on its own)
AUTOGRADED = {"reference": "needs manual grading", "untouched": "graded", "q1_flipped_sign": "needs manual grading"}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    from nbgrader.api import Gradebook
    root = make_course(tmp_path_factory.mktemp("formgrader_course"))
    run([sys.executable, "-m", "grading.sample_class"], cwd=root)
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        for student in STUDENTS:
            gb.update_or_create_student(student.id)
    args = [arg for student in AUTOGRADED for arg in ("--student", student)]
    run([sys.executable, "-m", "grading.runner", "--workers", "2", *args], cwd=root)
    return root


@pytest.fixture(scope="module")
def instructor_lab(course, tmp_path_factory):
    lab = Lab(course, tmp_path_factory.mktemp("state"))
    yield lab
    lab.stop()


def open_formgrader(page, lab):
    page.goto(lab.url("lab?reset"))
    page.wait_for_selector(".lm-MenuBar-itemLabel", timeout=60000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu .lm-Menu-itemLabel").filter(has_text=re.compile(r"^Formgrader$")).click()
    return page.frame_locator("#formgrader-iframe iframe")


def test_formgrader_lists_class_and_saves_a_manual_grade(instructor_lab, course, browser, shots):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        frame = open_formgrader(page, instructor_lab)
        frame.locator(f"a[href*='manage_submissions/{ASSIGNMENT}']").first.wait_for(timeout=60000)
        shots(page, "assignments")
        frame.locator(f"a[href*='manage_submissions/{ASSIGNMENT}']").first.click()
        frame.locator("table tbody tr").first.wait_for(timeout=30000)
        page.wait_for_timeout(1000)
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
        rows = frame.locator("table tbody tr")
        rows.first.wait_for(timeout=30000)
        page.wait_for_timeout(800)
        shots(page, "notebook_submissions")
        # submission links are anonymous ("Submission #n"): find the reference's by its id
        from nbgrader.api import Gradebook
        with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
            sub_id = gb.find_submission_notebook(Q1, ASSIGNMENT, "reference").id
        frame.locator(f"a[href*='submissions/{sub_id}']").first.click()
        score = frame.locator("input.score").first
        score.wait_for(timeout=30000)
        score.fill("6")
        score.press("Tab")
        comment = frame.locator("textarea.comment").first
        comment.fill("Clear derivation; state dz_j/dw_ij = x_i explicitly.")
        comment.press("Tab")
        page.wait_for_timeout(1500)
        score.scroll_into_view_if_needed()
        shots(page, "graded")
        with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
            grade = gb.find_grade("derivation", Q1, ASSIGNMENT, "reference")
            comment_row = gb.find_comment("derivation", Q1, ASSIGNMENT, "reference")
            assert grade.manual_score == 6.0
            assert comment_row.manual_comment == "Clear derivation; state dz_j/dw_ij = x_i explicitly."
    finally:
        page.close()
