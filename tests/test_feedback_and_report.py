"""Feedback keeps hidden tests hidden but shows their messages; the report's numbers are right.

All of it reads the sample class graded once (conftest.graded_class): its feedback is generated
once, its report written once."""
import re

import pytest

from course_helpers import feedback_text, hidden_test_lines, run
from grading.cells import grade_id as grade_id_of
from grading.cells import is_test_cell
from grading.course import ASSIGNMENT


def _leaks(texts, hidden):
    return {key: [line for line in hidden if line in text] for key, text in texts.items()
            if any(line in text for line in hidden)}


@pytest.fixture(scope="module")
def feedback(class_feedback):
    return feedback_text(class_feedback["root"])


@pytest.fixture(scope="module")
def report_page(class_report):
    return class_report.read_text()


def test_every_graded_student_gets_feedback(feedback, graded_class):
    students = {s for s, _ in feedback}
    graded = {p.parts[-2] for p in (graded_class["root"] / "autograded").glob(f"*/{ASSIGNMENT}")}
    assert students == graded and "reference" in students


def test_no_hidden_test_line_reaches_feedback(feedback):
    hidden = hidden_test_lines()
    assert len(hidden) > 20
    leaks = _leaks(feedback, hidden)
    assert not leaks, f"hidden-test code in feedback: {dict(list(leaks.items())[:2])}"


def test_the_leak_check_catches_stock_feedback(graded_class, tmp_path):
    """Without the filter nbgrader puts hidden tests in feedback (its issue #917): the check above
    must be able to see that, or it proves nothing."""
    root = graded_class["root"]
    run(["nbgrader", "generate_feedback", ASSIGNMENT, "--force", "--student=reference",
         "--CourseDirectory.feedback_directory=feedback_stock",
         "--GenerateFeedback.preprocessors=['nbgrader.preprocessors.GetGrades']"], cwd=root)
    assert _leaks(feedback_text(root, "feedback_stock"), hidden_test_lines())


def test_hidden_test_messages_reach_feedback(feedback):
    text = feedback[("q1_flipped_sign", "q1_cross_entropy_gradient.html")]
    assert "against finite differences" in text  # the hidden test's own message
    assert "the sign is flipped" in text  # its hint
    assert "Traceback" not in text and "---->" not in text


def test_report_numbers_match_the_gradebook(graded_class, report_page, source_notebooks):
    from grading.reports.gradebook import read_grades
    page = report_page
    assert "data:image/png;base64," in page and "<script" not in page  # plots inline, opens offline
    failures = re.search(r'<table id="failures">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r"<code>(\w+)</code></td><td>[\d.]+</td><td>(\d+)/(\d+)</td><td>\d+%</td><td>([^<]*)</td>",
                      failures)
    table = graded_class["table"]
    code_cells = {grade_id_of(c) for nb in source_notebooks.values() for c in nb.cells if is_test_cell(c)}
    assert {g for g, _, _, _ in rows} == code_cells
    for grade_id, failed, total, who in rows:  # counted over the students who attempted the function
        named = [s for s in who.split(", ") if s]
        assert int(failed) == len(named) and int(total) <= len(table), grade_id
        assert all(table[s][grade_id][0] < table[s][grade_id][1] for s in named), grade_id
        assert "untouched" not in named and "broken_json" not in named, grade_id
    counts = {g: (int(f), int(t)) for g, f, t, _ in rows}
    # the overflow mistake: two students made it, of the class less who never wrote softmax
    # (untouched), whose q1 could not be read (broken_json) and who deleted that very test
    assert counts["test_softmax_large_logits"] == (2, len(table) - 3)
    rates = [int(f) / int(t) for _, f, t, _ in rows]
    assert rates == sorted(rates, reverse=True), "the most failed test cell must be the top row"
    manual = re.search(r'<table id="manual">(.*?)</table>', page, re.S).group(1)
    queue = {c: (int(n), d, t) for c, n, d, t in
             re.findall(r"<code>(\w+)</code></td><td>(\d+)</td><td>(\d+) of (\d+)</td>", manual)}
    waiting = {}
    for notebooks in read_grades(f"sqlite:///{graded_class['root']}/gradebook.db").values():
        for nb in notebooks:
            for c in nb.cells:
                if c.cell_type == "markdown":
                    waiting[c.grade_id] = waiting.get(c.grade_id, 0) + c.needs_manual_grade
    assert {c: n for c, (n, _, _) in queue.items()} == {c: n for c, n in waiting.items() if n}
    assert "rubric/question/q1_cross_entropy_gradient/derivation" in manual
    summary = re.search(r'<table id="summary">(.*?)</table>', page, re.S).group(1)
    assert re.search(r"q1_cross_entropy_gradient</td><td>\d+</td><td>[\d.]+ / 22</td><td>8</td>"
                     r"<td>written: \d+ of \d+ graded", summary), summary
    problems = re.search(r'<table id="process-problems">(.*?)</table>', page, re.S).group(1)
    assert "broken_json</td><td>q1_cross_entropy_gradient</td><td>unreadable" in problems
    assert "deleted_test_cell</td><td>all</td><td>deleted test cells (put back, scored 0): test_softmax_large_logits" \
        in problems
    assert "untouched</td><td>all</td><td>untouched" in problems
    follow = re.search(r'<table id="follow-up">(.*?)</table>', page, re.S).group(1)
    assert "<td>untouched</td>" in follow and "<td>q1_wrong_q2_right</td>" in follow
    assert "<td>reference</td>" not in follow


def test_report_ranks_misconceptions_with_not_attempted_apart(graded_class, report_page):
    """One mistake counts once per student (not once per failing cell), under the hint the tests
    give for it; a student who wrote nothing is 'not attempted', never a misconception."""
    from grading.reports import misconceptions
    ranked, skipped = misconceptions.collect(graded_class["root"])
    by_label = {(m.function, m.label): m for m in ranked}
    minus_one = by_label[("ce_grad_logits", "the correct class's entry is P_c - 1: did you leave out the -1?")]
    assert minus_one.students == {"q1_no_minus_one", "q1_wrong_q2_right"}
    assert "did you leave out the -1?" in minus_one.example
    assert not [m for m in ranked if m.function == "ce_grad_logits" and m is not minus_one
                and m.students & {"q1_no_minus_one"}], "one mistake, one misconception per student"
    assert all("untouched" not in m.students for m in ranked)
    assert all("deleted_test_cell" not in m.students for m in ranked if m.function == "softmax")  # a process problem
    assert "untouched" in skipped["softmax"] and "untouched" in skipped["two_layer"]
    assert "reference" not in {s for m in ranked for s in m.students}
    counts = [len(m.students) for m in ranked]
    assert counts == sorted(counts, reverse=True)
    page = report_page
    section = re.search(r'<table id="misconceptions">(.*?)</table>', page, re.S).group(1)
    assert "did you leave out the -1?" in section and "q1_no_minus_one" in section
    assert re.search(r'<img alt="Bar chart of the most common misconceptions[^"]+" src="data:image/png', page)
