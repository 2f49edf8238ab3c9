"""Rubric items in the formgrader, in Chromium: one session covers the grade-by-question page
(keyboard only, across the sample class), the panel on nbgrader's submission page, two graders
on one answer, a hostile answer, the page's CSP and axe.

The course is a copy of the sample class as the runner graded it (conftest.graded_class); one
written answer in it is replaced by markup that would run script if it were not cleaned."""
import re

import nbformat
import pytest
from playwright.sync_api import expect
from test_offline_and_accessible import axe_violations, offline_context, serious

from browser_helpers import Lab
from course_helpers import copy_graded_course
from grading.course import ASSIGNMENT
from ml_conceptual.sample_class import Q1

Q3 = "q3_gradient_descent"
CELL = "negated_update"
HOSTILE = '<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> $\\frac{a}{b}$ steepest ascent'


@pytest.fixture(scope="module")
def course(graded_class, tmp_path_factory):
    root = tmp_path_factory.mktemp("rubric_course") / "course"
    copy_graded_course(graded_class["root"], root)
    path = root / "autograded" / "q3_gradient_ascent" / ASSIGNMENT / f"{Q3}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == CELL:
            cell.source = HOSTILE
    nbformat.write(nb, path)
    return root


@pytest.fixture(scope="module")
def lab(course, tmp_path_factory):
    lab = Lab(course, tmp_path_factory.mktemp("state"))
    yield lab
    lab.stop()


def _marks(course, cell=CELL, notebook=Q3):
    """{student: (manual score, needs manual grade, [applied item positions])} from the gradebook."""
    from nbgrader.api import Gradebook

    from grading.pages import rubric
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        rubric.migrate(gb.engine)  # (the server's first request migrates too: either may come first)
        out = {}
        for sub in gb.notebook_submissions(notebook, ASSIGNMENT):
            grade = gb.find_grade(cell, notebook, ASSIGNMENT, sub.student.id)
            items = rubric.applied_items(gb, sub.student.id, notebook, cell)
            out[sub.student.id] = (grade.manual_score, grade.needs_manual_grade, [t for t, _ in items])
        return out


def test_grade_a_question_across_the_class_by_keyboard(course, lab, browser, shots):
    pending = [s for s, (_, needs, _) in _marks(course).items() if needs]
    assert len(pending) >= 10
    context = offline_context(browser, lab.base)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        response = page.goto(lab.url(f"formgrader/rubric/question/{Q3}/{CELL}"))
        csp = response.headers.get("content-security-policy", "")
        assert "script-src" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        expect(page.locator("body[data-rubric-ready='true']")).to_have_count(1, timeout=30000)
        shots(page, "question_page")
        # every pending answer: item 1 and item 2 (both 1 point), then the next ungraded one
        for _ in pending:
            status = page.locator("#status")
            page.keyboard.press("1")
            expect(status).to_have_text("saved", timeout=10000)
            page.keyboard.press("2")
            expect(status).to_have_text("saved", timeout=10000)
            page.keyboard.press("u")
        everyone = len(_marks(course))
        expect(page.locator("#progress")).to_have_text(f"{everyone} of {everyone} graded")
        shots(page, "all_graded")
        marks = _marks(course)
        for student in pending:
            score, needs, items = marks[student]
            assert (score, needs, len(items)) == (2.0, False, 2), (student, marks[student])
        # the hostile answer is shown as text and markup that cannot run; its math is MathML
        assert page.evaluate("window.__pwned") is None
        assert page.locator("#answers script, #answers img[onerror]").count() == 0
        assert page.locator("article.answer math").count() >= 1
        assert not [u for u in context.blocked], context.blocked  # nothing asked of the network
        assert not errors, errors
    finally:
        context.close()
    context = offline_context(browser, lab.base, bypass_csp=True)  # axe is injected as a script
    try:
        page = context.new_page()
        page.goto(lab.url(f"formgrader/rubric/question/{Q3}/{CELL}"))
        expect(page.locator("body[data-rubric-ready='true']")).to_have_count(1, timeout=30000)
        page.keyboard.press("m")  # the model answer open, the alike answers shown: all of the page
        found = axe_violations(page)
    finally:
        context.close()
    print("axe on the grade-by-question page:", found)
    assert not serious(found), found


def test_two_graders_on_one_answer_lose_nothing(course, lab, browser):
    student = "reference"
    a, b = browser.new_context(), browser.new_context()
    pages = []
    try:
        for ctx in (a, b):
            page = ctx.new_page()
            page.goto(lab.url(f"formgrader/rubric/question/{Q1}/derivation"))
            expect(page.locator("body[data-rubric-ready='true']")).to_have_count(1, timeout=30000)
            index = page.evaluate("s => window.rubricQuestion.markers.findIndex(m => m.state.student === s)", student)
            page.evaluate(f"window.rubricQuestion.show({index}, false)")
            pages.append(page)
        first, second = pages
        first.keyboard.press("1")
        expect(first.locator("#status")).to_have_text("saved", timeout=10000)
        second.keyboard.press("2")  # loaded before the first save: refused, the first grader's items shown
        expect(second.locator("#status")).to_contain_text("changed this answer meanwhile", timeout=10000)
        assert second.locator(".rubric-item[aria-pressed='true']").count() == 1
        assert _marks(course, "derivation", Q1)[student][2] == [_item_text(course, 1)]
        second.keyboard.press("2")  # now on the current version: both items kept
        expect(second.locator("#status")).to_have_text("saved", timeout=10000)
        score, needs, items = _marks(course, "derivation", Q1)[student]
        assert (score, needs, len(items)) == (2.0, False, 2)
    finally:
        a.close()
        b.close()


def _item_text(course, position, notebook=Q1, cell="derivation"):
    from grading.pages.rubric import parse_source
    return parse_source(course)[(notebook, cell)].items[position - 1].text


def test_submission_page_panel_sets_score_and_comment(course, lab, browser, shots):
    from nbgrader.api import Gradebook
    student = "q1_flipped_sign"
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        sub_id = gb.find_submission_notebook(Q1, ASSIGNMENT, student).id
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(lab.url(f"formgrader/submissions/{sub_id}/"))
        expect(page.locator("body[data-rubric-ready='true']")).to_have_count(1, timeout=30000)
        panel = page.locator(".rubric-panel").first
        panel.focus()
        for key in ("1", "3", "m"):
            panel.press(key)
        expect(panel.locator(".rubric-status")).to_have_text("saved", timeout=10000)
        expect(page.locator("input#derivation.score")).to_have_value("2", timeout=10000)
        comment = page.locator("textarea#derivation-comment")
        expect(comment).to_have_value(re.compile(r"One-hot[\s\S]*Chain rule through"))
        assert panel.locator("details.model").evaluate("d => d.open")
        panel.scroll_into_view_if_needed()
        shots(page, "submission_panel")
        score, needs, items = _marks(course, "derivation", Q1)[student]
        assert (score, needs, len(items)) == (2.0, False, 2)
    finally:
        page.close()

