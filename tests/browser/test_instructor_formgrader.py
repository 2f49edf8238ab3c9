"""The instructor's view: after grading the sample class, the formgrader lists the assignment and
the students, and a written answer graded through the page lands in the gradebook."""
import re

import pytest

from browser_helpers import Lab
from grading.course import ASSIGNMENT
from grading.sample_class import Q1, STUDENTS


@pytest.fixture(scope="module")
def instructor_lab(graded_class, tmp_path_factory):
    lab = Lab(graded_class["root"], tmp_path_factory.mktemp("state"))
    yield lab
    lab.stop()


def open_formgrader(page, lab):
    page.goto(lab.url("lab?reset"))
    page.wait_for_selector(".lm-MenuBar-itemLabel", timeout=60000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu .lm-Menu-itemLabel").filter(has_text=re.compile(r"^Formgrader$")).click()
    return page.frame_locator("#formgrader-iframe iframe")


def test_formgrader_lists_class_and_saves_a_manual_grade(instructor_lab, graded_class, browser, shots):
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
        with Gradebook(f"sqlite:///{graded_class['root']}/gradebook.db") as gb:
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
        with Gradebook(f"sqlite:///{graded_class['root']}/gradebook.db") as gb:
            grade = gb.find_grade("derivation", Q1, ASSIGNMENT, "reference")
            comment_row = gb.find_comment("derivation", Q1, ASSIGNMENT, "reference")
            assert grade.manual_score == 6.0
            assert comment_row.manual_comment == "Clear derivation; state dz_j/dw_ij = x_i explicitly."
    finally:
        page.close()
