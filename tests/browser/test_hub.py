"""The course on a real JupyterHub (docs/jupyterhub.md): real Linux accounts logging in through
PAM, JupyterHub's npm proxy, each server spawned as its user; students fetch, validate, submit and
fetch feedback in JupyterLab's Assignments panel; the instructor collects, grades (the parallel
sandboxed runner), grades a written answer in the formgrader inside JupyterLab, releases feedback.

One hub for the module (``hub``); the tests run in file order and build on each other's state
(the end-to-end test first). The instructor's commands run as the instructor's Linux account in
the course root on the hub, as they would type them in their JupyterLab terminal.
"""
import html
import json
import re
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hub_helpers import (TEST_STUDENTS, Hub, as_user, fresh_test_hub_setup, get_file,  # noqa: E402
                         instructor, login, open_assignments, put_notebook, refresh_assignments)

from grading import hub as course_hub  # noqa: E402
from grading import sample_class  # noqa: E402
from grading.course import ASSIGNMENT, SOURCE, notebook_names  # noqa: E402

ADA, BEN, CY, DEE = TEST_STUDENTS  # ada answers fully, ben has a misconception, cy is late, dee is unknown
Q1 = "q1_cross_entropy_gradient"
MISCONCEPTION = "q1_no_minus_one"
WRITTEN = "derivation"  # q1's written answer (8 points), graded by hand


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    layout = fresh_test_hub_setup(tmp_path_factory.mktemp("hub-state"))
    instructor(layout, "nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=WARN")
    for student in (ADA, BEN, CY):
        instructor(layout, "nbgrader", "db", "student", "add", student, "--log-level=WARN")
    instructor(layout, "nbgrader", "release_assignment", ASSIGNMENT, "--force", "--log-level=WARN")
    running = Hub(layout)
    yield running
    running.stop()


def _notebooks_of(sample_id):
    student = next(s for s in sample_class.STUDENTS if s.id == sample_id)
    return {name: json.loads(text) for name, text in sample_class.student_notebooks(student).items()}


def _fetch(page, shot, who):
    open_assignments(page)
    shot(page, f"{who}_assignments_released")
    page.locator("#released_assignments_list button:text-is('Fetch')").click()
    page.wait_for_selector("#fetched_assignments_list .list_item:has-text('conceptual')", timeout=60000)
    shot(page, f"{who}_fetched")


def _validate_q1(page, shot, who):
    page.goto(page.url.split("/lab")[0] + f"/lab/tree/{ASSIGNMENT}/{Q1}.ipynb")
    page.wait_for_selector(".jp-NotebookPanel-toolbar .validate-button", timeout=120000)
    page.locator(".jp-NotebookPanel-toolbar .validate-button").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=120000)
    text = dialog.inner_text()
    shot(page, f"{who}_validated_q1")
    dialog.locator("button").last.click()
    return text


def _submit(page, shot, who):
    open_assignments(page)
    page.locator("#fetched_assignments_list .list_item:has-text('conceptual') button:text-is('Submit')").click()
    page.wait_for_selector("#submitted_assignments_list .list_item:has-text('conceptual')", timeout=60000)
    shot(page, f"{who}_submitted")


def _feedback_text(page, hub, user):
    """{notebook: text} of the newest feedback the student fetched, read through their server."""
    listing = get_file(page, hub, user, f"{ASSIGNMENT}/feedback")["content"]
    newest = max(item["name"] for item in listing)
    out = {}
    for item in get_file(page, hub, user, f"{ASSIGNMENT}/feedback/{newest}")["content"]:
        if item["name"].endswith(".html"):
            raw = get_file(page, hub, user, item["path"])["content"]
            text = re.sub(r"<(script|style)\b.*?</\1>", "", raw, flags=re.S)
            out[item["name"][:-5]] = html.unescape(re.sub(r"<[^>]+>", "", text))
    return out


def _hidden_lines():
    hidden, visible = set(), set()
    for name in notebook_names():
        for cell in nbformat.read(SOURCE / f"{name}.ipynb", as_version=4).cells:
            region = False
            for line in cell.source.splitlines():
                if "### BEGIN HIDDEN TESTS" in line:
                    region = True
                elif "### END HIDDEN TESTS" in line:
                    region = False
                elif len(line.strip()) >= 12:
                    (hidden if region else visible).add(line.strip())
    visible_text = "\n".join(visible)
    return {line for line in hidden if line not in visible_text}


def _scores(layout, student):
    proc = instructor(layout, "python", "-c",
                      "import sys; sys.path.insert(0, '.');"
                      "from grading.course import nbgrader_api; from nbgrader.api import Gradebook;"
                      "api = nbgrader_api();"
                      f"gb = Gradebook(api.coursedir.db_url); s = gb.find_submission('conceptual', {student!r});"
                      "print(s.score, s.max_score, s.late_submission_penalty, ','.join(n.name + '=' + str(n.score) for n in s.notebooks))")
    score, max_score, penalty, per_nb = proc.stdout.split()
    return float(score), float(max_score), float(penalty), dict(kv.split("=") for kv in per_nb.split(","))


def test_students_submit_and_read_feedback_instructor_grades_in_the_formgrader(hub, browser, shots):
    layout = hub.layout
    # --- two students: log in, fetch, work, validate, submit
    sessions = {}
    for who, sample_id in ((ADA, "reference"), (BEN, MISCONCEPTION)):
        context, page = login(browser, hub, who, shots)
        sessions[who] = (context, page)
        shots(page, f"{who}_lab")
        _fetch(page, shots, who)
        for name, nb in _notebooks_of(sample_id).items():  # the student's work, saved as JupyterLab saves
            put_notebook(page, hub, who, f"{ASSIGNMENT}/{name}.ipynb", nb)
        verdict = _validate_q1(page, shots, who)
        if who == ADA:
            assert "Success! Your notebook passes all the tests." in verdict, verdict
        else:
            assert "Success!" not in verdict and "failed" in verdict.lower(), verdict
        _submit(page, shots, who)

    # --- the instructor: collect, grade with the runner, a written answer in the formgrader
    instructor(layout, "nbgrader", "collect", ASSIGNMENT, "--log-level=WARN")
    for who in (ADA, BEN):
        assert sorted(p.stem for p in (layout.course_dir / "submitted" / who / ASSIGNMENT).glob("*.ipynb")) == notebook_names()
    graded = course_hub.grade(layout, [ADA, BEN])
    assert graded.returncode == 0, graded.stdout + graded.stderr

    context, page = login(browser, hub, layout.instructor, shots)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
    page.locator(".lm-Menu .lm-Menu-itemLabel:text-is('Formgrader')").click()
    frame = page.frame_locator("#formgrader-iframe iframe")
    frame.locator(f"a[href*='manage_submissions/{ASSIGNMENT}']").first.wait_for(timeout=60000)
    shots(page, "instructor_formgrader")
    frame.locator("a[href*='/gradebook']").first.click()
    frame.locator(f"a[href*='gradebook/{ASSIGNMENT}']").first.click()
    frame.locator(f"a[href*='gradebook/{ASSIGNMENT}/{Q1}']").first.click()
    frame.locator("table tbody tr", has_text=ADA).locator("a[href*='submissions/']").first.click()
    score = frame.locator(f"input.score[id='{WRITTEN}']")  # the derivation, a written answer
    score.wait_for(timeout=60000)
    score.fill("4")
    score.press("Tab")
    comment = frame.locator(f"textarea.comment[id='{WRITTEN}-comment']")
    comment.fill("Clear derivation (graded on the hub).")
    comment.press("Tab")
    page.wait_for_timeout(1500)
    shots(page, "instructor_manual_grade")
    context.close()

    instructor(layout, "nbgrader", "generate_feedback", ASSIGNMENT, "--force", "--log-level=WARN")
    instructor(layout, "nbgrader", "release_feedback", ASSIGNMENT, "--log-level=WARN")

    # --- each student fetches feedback and sees their own score, hidden tests absent
    ada_score, max_score, _, _ = _scores(layout, ADA)
    ben_score, _, _, _ = _scores(layout, BEN)
    assert ben_score < ada_score
    hidden = _hidden_lines()
    for who, expected in ((ADA, ada_score), (BEN, ben_score)):
        _, page = sessions[who]
        open_assignments(page)
        page.locator("#submitted_assignments_list .list_item:has-text('conceptual') button:text-is('Fetch Feedback')").first.click()
        page.wait_for_timeout(2000)
        refresh_assignments(page)
        shots(page, f"{who}_feedback_fetched")
        texts = _feedback_text(page, hub, who)
        assert sorted(texts) == notebook_names()
        shown = sum(float(re.search(r"Score:\s*([\d.]+)\s*/\s*[\d.]+", t).group(1)) for t in texts.values())
        assert shown == pytest.approx(expected), (who, shown, expected)
        assert not [line for t in texts.values() for line in hidden if line in t], f"hidden test code in {who}'s feedback"
        assert "BEGIN HIDDEN TESTS" not in "".join(texts.values())
    ada_q1 = _feedback_text(sessions[ADA][1], hub, ADA)[Q1]
    assert "Clear derivation (graded on the hub)." in ada_q1
    for context, _ in sessions.values():
        context.close()
