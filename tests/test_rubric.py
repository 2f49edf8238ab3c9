"""Rubric items (grading/pages/rubric.py): parsed from source/, stored beside nbgrader's tables,
applied with optimistic concurrency, regraded when an item's points change; feedback and
``make feedback`` never pass an ungraded answer off as a zero.

Most tests use a small gradebook made with nbgrader's API (no grading); the feedback ones read
the sample class graded once (conftest.graded_class, class_feedback)."""
import re
import subprocess
import sys

import pytest
from nbgrader.api import Gradebook

from course_helpers import REPO, copy_graded_course
from grading.course import ASSIGNMENT, course_env
from grading.pages import rubric

Q1 = "q1_cross_entropy_gradient"


def test_every_written_cell_of_source_has_a_rubric_worth_its_points(source_notebooks):
    from grading.cells import is_manually_graded, points
    rubrics = rubric.parse_source(REPO)
    written = {(name, c.metadata.nbgrader.grade_id): points(c) for name, nb in source_notebooks.items()
               for c in nb.cells if c.cell_type == "markdown" and is_manually_graded(c)}
    assert set(rubrics) == set(written) and len(written) == 10
    for key, r in rubrics.items():
        rows = [i for i in r.items if i.points > 0]
        assert r.points == written[key] and sum(i.points for i in rows) >= r.points, key
        assert [i.key for i in rows] == list(rubric.KEYS[:len(rows)])
        assert r.items[-1].points == -1 and r.items[-1].key == "-", key  # the sentence-limit rule
        assert "Rubric" not in r.model_answer and r.model_answer, key
    assert sum(r.points for r in rubrics.values()) == 38  # the written half of the 100 points


def test_a_rubric_that_cannot_be_read_is_named():
    good = "**Model answer.**\n\nx\n\n---\n**Rubric (2 points; for the grader).**\n\n| points | idea |\n| --- | --- |\n"
    with pytest.raises(rubric.RubricError, match="q9: why: rows add up to 1"):
        rubric.parse_cell(good + "| 1 | only one |\n", "q9", "why", 2)
    with pytest.raises(rubric.RubricError, match="no '\\| points \\| idea \\|' rows"):
        rubric.parse_cell(good, "q9", "why", 2)
    with pytest.raises(rubric.RubricError, match="the cell is worth 3"):
        rubric.parse_cell(good + "| 2 | all |\n", "q9", "why", 3)
    assert [i.points for i in rubric.parse_cell(good + "| 2 | all |\n| 1 | more |\n", "q9", "why", 2).items] == [2, 1]


@pytest.fixture
def book(tmp_path):
    """A gradebook with q1's derivation (8 points) submitted by ada, ben and cy, the items synced."""
    url = f"sqlite:///{tmp_path}/gradebook.db"
    with Gradebook(url) as gb:
        gb.update_or_create_assignment(ASSIGNMENT)
        gb.add_notebook(Q1, ASSIGNMENT)
        gb.add_grade_cell("derivation", Q1, ASSIGNMENT, max_score=8, cell_type="markdown")
        gb.add_solution_cell("derivation", Q1, ASSIGNMENT)
        for s in ("ada", "ben", "cy"):
            gb.add_student(s)
            gb.add_submission(ASSIGNMENT, s)
    rubrics = {k: v for k, v in rubric.parse_source(REPO).items() if k == (Q1, "derivation")}
    with Gradebook(url) as gb:
        assert rubric.migrate(gb.engine) == rubric.SCHEMA_VERSION
        assert rubric.migrate(gb.engine) == rubric.SCHEMA_VERSION  # twice: nothing happens
        assert rubric.sync(gb, rubrics)["added"] == 9
    return url, rubrics


def _ids(gb, *positions):
    items = {i["position"]: i["id"] for i in rubric.items_of(gb, Q1, "derivation")}
    return {items[p]: 1 for p in positions}


def test_items_give_score_and_comment_and_stale_saves_are_refused(book):
    url, _ = book
    with Gradebook(url) as gb:
        assert rubric.cell_state(gb, "ada", Q1, "derivation")["needs_manual_grade"]
        state = rubric.save_mark(gb, "ada", Q1, "derivation", _ids(gb, 1, 2, 9), "Good start.", 0, "tara")
        assert (state["score"], state["version"], state["grader"]) == (1.0, 1, "tara")  # 1 + 1 - 1
        comment = gb.find_comment("derivation", Q1, ASSIGNMENT, "ada").manual_comment
        assert comment.startswith("**Rubric** (1 of 8 points):") and "One-hot labels" in comment
        assert "-1: Over the sentence limit" in comment and comment.endswith("Good start.")
        # a second grader who loaded version 0 does not overwrite the first one's items
        with pytest.raises(rubric.Conflict) as refused:
            rubric.save_mark(gb, "ada", Q1, "derivation", _ids(gb, 3), "", 0, "tim")
        assert refused.value.state["grader"] == "tara" and len(refused.value.state["applied"]) == 3
        assert len(rubric.applied_items(gb, "ada", Q1, "derivation")) == 3
        state = rubric.save_mark(gb, "ada", Q1, "derivation", _ids(gb, 3), "", 1, "tim")
        assert (state["score"], state["version"]) == (1.0, 2)
        # the score is clamped to [0, points]; nothing applies is a graded 0
        assert rubric.save_mark(gb, "ben", Q1, "derivation", _ids(gb, 9), "", 0)["score"] == 0
        assert not gb.find_grade("derivation", Q1, ASSIGNMENT, "ben").needs_manual_grade
        with pytest.raises(ValueError, match="fraction 0.5 not allowed"):
            rubric.save_mark(gb, "cy", Q1, "derivation", {list(_ids(gb, 1))[0]: 0.5}, "", 0)
        with pytest.raises(ValueError, match="not an item of"):
            rubric.save_mark(gb, "cy", Q1, "derivation", {9999: 1}, "", 0)
        assert rubric.cell_state(gb, "cy", Q1, "derivation")["version"] == 0  # nothing half-written


def test_changing_an_items_points_regrades_who_got_it(book):
    url, rubrics = book
    with Gradebook(url) as gb:
        rubric.save_mark(gb, "ada", Q1, "derivation", _ids(gb, 1, 2), "", 0)
        rubric.save_mark(gb, "ben", Q1, "derivation", _ids(gb, 2, 3), "", 0)
        rubric.save_mark(gb, "cy", Q1, "derivation", _ids(gb, 3), "", 0)
        old = rubrics[(Q1, "derivation")]
        changed = {(Q1, "derivation"): rubric.CellRubric(
            old.notebook, old.cell, old.points,
            tuple(rubric.Item(i.position, i.text, 3.0 if i.position == 1 else i.points) for i in old.items),
            old.model_answer)}
        counts = rubric.sync(gb, changed)
        assert (counts["changed"], counts["regraded"]) == (1, 1)  # only ada had item 1
        scores = {s: gb.find_grade("derivation", Q1, ASSIGNMENT, s).manual_score for s in ("ada", "ben", "cy")}
        assert scores == {"ada": 4.0, "ben": 2.0, "cy": 1.0}
        assert "+3: One-hot" in gb.find_comment("derivation", Q1, ASSIGNMENT, "ada").manual_comment


def test_the_same_tables_on_postgresql():
    """Migration, a save and a refused stale save on PostgreSQL (a throwaway server on loopback)."""
    from pg_server import ThrowawayPostgres, bin_dir
    if bin_dir() is None:
        pytest.fail("PostgreSQL is not installed: apt-get install -y postgresql")
    with ThrowawayPostgres() as server, Gradebook(server.new_database("rubric")) as gb:
        gb.update_or_create_assignment(ASSIGNMENT)
        gb.add_notebook(Q1, ASSIGNMENT)
        gb.add_grade_cell("derivation", Q1, ASSIGNMENT, max_score=8, cell_type="markdown")
        gb.add_solution_cell("derivation", Q1, ASSIGNMENT)
        gb.add_student("ada")
        gb.add_submission(ASSIGNMENT, "ada")
        rubric.migrate(gb.engine)
        rubric.sync(gb, {k: v for k, v in rubric.parse_source(REPO).items() if k == (Q1, "derivation")})
        assert rubric.save_mark(gb, "ada", Q1, "derivation", _ids(gb, 1), "", 0)["score"] == 1
        with pytest.raises(rubric.Conflict):
            rubric.save_mark(gb, "ada", Q1, "derivation", _ids(gb, 2), "", 0)


# --- pending is never zero ----------------------------------------------------------------------

def test_feedback_says_not_graded_yet_and_loads_nothing(class_feedback):
    page = (class_feedback["folder"] / "q1_flipped_sign" / ASSIGNMENT / f"{Q1}.html").read_text()
    assert "Written response</a> (not graded yet (8 points))" in page
    assert "Score: 0.0 / 8.0" not in page and "Score so far:" in page and "Partial feedback:" in page
    for path in class_feedback["folder"].glob(f"*/{ASSIGNMENT}/*.html"):
        text = path.read_text()
        assert "mathjax" not in text.lower(), path  # no CDN script: opening it asks nothing of the network
        assert not re.search(r"<script\b[^>]*\bsrc=", text), path
        assert "nan" not in re.findall(r"Score: (\w+)", text), path


def test_make_feedback_refuses_while_answers_wait(graded_class):
    proc = subprocess.run([sys.executable, "-m", "grading.pages.feedback"], cwd=graded_class["root"],
                          env=course_env(), capture_output=True, text=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "feedback not released" in proc.stderr and "q1_flipped_sign: q1: derivation" in proc.stderr
    assert "PARTIAL=1" in proc.stderr


def test_feedback_released_once_graded(graded_class, tmp_path):
    root = tmp_path / "course"
    copy_graded_course(graded_class["root"], root)
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        rubric.migrate(gb.engine)
        rubric.sync(gb, rubric.parse_source(root))
        for nb in gb.find_submission(ASSIGNMENT, "reference").notebooks:
            for grade in nb.grades:
                if grade.needs_manual_grade:
                    first = rubric.items_of(gb, nb.name, grade.name)[0]["id"]
                    rubric.save_mark(gb, "reference", nb.name, grade.name, {first: 1}, "", 0)
    proc = subprocess.run([sys.executable, "-m", "grading.pages.feedback", "--student", "reference"], cwd=root,
                          env=course_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = (root / "feedback" / "reference" / ASSIGNMENT / f"{Q1}.html").read_text()
    assert "not graded yet" not in page and "Partial feedback" not in page
    assert "One-hot labels" in page  # the item applied, in the comment the student reads

