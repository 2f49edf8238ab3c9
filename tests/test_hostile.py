"""Hostile and broken submissions (tests/hostile_corpus.py) cannot cheat, crash, read or leak.

The whole corpus is graded in one batch by the parallel runner, sandbox on, with a short cell
timeout and notebook budget; each entry must get its outcome, no hidden test may appear in any
graded copy's outputs, and the batch, the baselines and the gradebook must be untouched by the rest.
A second course elsewhere on the machine (outside every folder the old sandbox hid) stands for
another course an attacker would like to read.
"""
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

import hostile_corpus
from course_helpers import REPO, course_env, feedback_text, grade_table, hidden_test_lines, make_course
from grading.cells import grade_id, is_grade, is_test_cell
from grading.course import ASSIGNMENT
from ml_conceptual.sample_class import Q1

ENTRIES = {h.id: h for h in hostile_corpus.corpus(port=0)}


def _q1_cells():
    """grade_ids of question 1's cells (the corpus submits q1 only), in notebook order."""
    nb = nbformat.read(REPO / "source" / ASSIGNMENT / f"{Q1}.ipynb", as_version=4)
    return [grade_id(c) for c in nb.cells if is_grade(c)]


def _autograded(table):
    nb = nbformat.read(REPO / "source" / ASSIGNMENT / f"{Q1}.ipynb", as_version=4)
    return {grade_id(c) for c in nb.cells if is_test_cell(c)}


HIDDEN_LINES = hidden_test_lines([Q1], min_length=26)  # question 1's, long enough to be telling
# The grading limits the corpus is graded under: a cell's timeout and a notebook's budget (both
# seconds; c.Execute.timeout and c.SandboxedExecute.notebook_budget through their overrides). The
# budget is well above what the reference's question 1 takes, and what the entries that sleep or
# loop are cut at: a longer one only makes the batch wait for them.
CELL_TIMEOUT, BUDGET = 4, 20
LIMITS = {"GRADING_CELL_TIMEOUT": str(CELL_TIMEOUT), "GRADING_NOTEBOOK_BUDGET": str(BUDGET)}


@pytest.fixture(scope="module")
def elsewhere():
    """Another course on this machine, in a folder no sandbox rule names."""
    import tempfile
    folder = Path(tempfile.mkdtemp(prefix="other-course-", dir="/srv" if Path("/srv").is_dir() else None))
    make_course(folder / "course")
    (folder / "course" / "gradebook.db").write_bytes(b"SQLite format 3\0 secret")
    folder.chmod(0o755)
    yield folder / "course"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory, elsewhere):
    root = make_course(tmp_path_factory.mktemp("hostile"))
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    received = []

    def listen():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            received.append(conn.recv(100))
            conn.close()
    threading.Thread(target=listen, daemon=True).start()
    hostile_corpus.write(root / "submitted", server.getsockname()[1], str(elsewhere))
    proc = subprocess.run([sys.executable, "-m", "grading.batch.runner", "--workers", "2"], cwd=root,
                          env=course_env(**LIMITS),
                          capture_output=True, text=True)
    server.close()
    graded = {}
    for path in (root / "autograded").glob(f"*/{ASSIGNMENT}/{Q1}.ipynb"):
        graded[path.parts[-3]] = path
    return {"root": root, "proc": proc, "table": grade_table(root), "graded": graded, "received": received}


def test_corpus_is_large_enough():
    assert len(ENTRIES) >= 20


def test_each_outcome_passes_and_fails_on_scores_made_up_for_it():
    """The outcome objects on a notebook of cells a, k (the kernel dies there) and b."""
    from hostile_corpus import NO_MORE_THAN_HONEST, NO_MORE_THAN_REFERENCE, REFERENCE, ZERO, KilledAfter, Scores
    order = lambda: ["a", "k", "b"]  # noqa: E731
    killed = Scores("killed", {"a": 1.0, "b": 0.0}, {"a": 0.0, "b": 0.0}, {"a": 1.0, "b": 1.0}, order)
    KilledAfter("k").check(killed)
    NO_MORE_THAN_REFERENCE.check(killed)
    for wrong in (NO_MORE_THAN_HONEST, ZERO, REFERENCE, KilledAfter("b")):  # (no cell after b)
        with pytest.raises(AssertionError):
            wrong.check(killed)
    NO_MORE_THAN_HONEST.check(Scores("honest", {"a": 0.0, "b": 0.0}, {"a": 0.0, "b": 0.0}, {"a": 1.0, "b": 1.0}, order))


def test_batch_finishes_and_grades_everyone(hostile_class):
    proc = hostile_class["proc"]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "GRADING FAILED" not in proc.stdout
    assert set(hostile_class["table"]) == set(ENTRIES) | {"honest_wrong", "reference"}


def test_baselines_are_untouched(hostile_class):
    table = hostile_class["table"]
    cells = _autograded(table)
    assert all(table["reference"][g][0] == table["reference"][g][1] for g in cells), "reference lost points"
    passing = {g for g in cells if table["honest_wrong"][g][0] > 0}
    # answers that do nothing (zeros of the right shape, W returned unchanged) earn nothing: every
    # property a constant satisfies (inputs left alone, shift invariance) is paired with values
    assert passing == set(), f"doing nothing earned points on {sorted(passing)}"


def test_gradebook_max_scores_are_intact(hostile_class):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{hostile_class['root']}/gradebook.db") as gb:
        notebook = gb.find_notebook(Q1, ASSIGNMENT)
        assert notebook.max_score == 30
        assert {c.name for c in notebook.grade_cells} == set(_q1_cells())
        for student in hostile_class["table"]:
            assert gb.find_submission_notebook(Q1, ASSIGNMENT, student).max_score == 30, student


def test_nothing_reaches_the_network(hostile_class):
    assert hostile_class["received"] == []


def _said(outputs):
    """Everything the outputs show: tracebacks, streams, error values, rich data."""
    return "".join("".join(o.get("traceback", [])) + o.get("text", "") + o.get("evalue", "")
                   + "".join(str(v) for v in o.get("data", {}).values()) for o in outputs)


def _check_graded_copy(entry, h, graded):
    """What the entry's graded copy shows: what it must say, no hidden test line, nothing in a
    test cell but its error, and ATTACK BLOCKED for a blocked attack."""
    cells = graded.cells if graded is not None else []
    outputs = [o for c in cells if c.cell_type == "code" for o in c.outputs]
    said = _said(outputs)
    assert h.graded_says in said, f"{entry}: its graded copy does not say {h.graded_says!r}"
    leaked = {line for line in HIDDEN_LINES if line in said}
    assert not leaked, f"{entry}: hidden test code in its graded copy's outputs: {sorted(leaked)[:3]}"
    # nothing the student's code printed during a test reaches a test cell
    for cell in filter(is_test_cell, cells):
        kinds = [o.output_type for o in cell.outputs]
        assert kinds in ([], ["error"]), f"{entry}: test cell {grade_id(cell)} has outputs {kinds}"
    printed = "".join(o.get("text", "") for o in outputs)
    assert not h.blocked or ("ATTACK BLOCKED" in printed and "ATTACK SUCCEEDED" not in printed), \
        f"{entry} was not blocked: {printed[-300:]}"


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_hostile_submission_gets_its_outcome(entry, hostile_class):
    h = ENTRIES[entry]
    table = hostile_class["table"]
    cells = sorted(_autograded(table))
    submitted = hostile_class["root"] / "submitted" / entry / ASSIGNMENT / f"{Q1}.ipynb"
    h.outcome.check(hostile_corpus.Scores(
        f"{entry} ({h.story})", {g: table[entry][g][0] for g in cells}, {g: table["honest_wrong"][g][0] for g in cells},
        {g: table["reference"][g][0] for g in cells},
        lambda: [grade_id(c) for c in nbformat.read(submitted, as_version=4).cells]))
    printed = hostile_class["proc"].stdout
    assert not h.message or f"{entry}: {h.message}" in printed, printed[-2000:]
    path = hostile_class["graded"].get(entry)
    _check_graded_copy(entry, h, nbformat.read(path, as_version=4) if path else None)


@pytest.mark.parametrize("entry", ["huge_output", "huge_single_line"])
def test_huge_output_is_truncated(entry, hostile_class):
    assert hostile_class["graded"][entry].stat().st_size < 6_000_000


def test_a_sleepy_notebook_holds_its_worker_no_longer_than_its_budget(hostile_class):
    graded = nbformat.read(hostile_class["graded"]["sleepy_cells"], as_version=4)
    unrun = [c for c in graded.cells if c.cell_type == "code" and any(
        o.get("ename") == "NotebookBudgetExceeded" for o in c.outputs)]
    assert unrun, "the budget never stopped the notebook"
    slept = sum(1 for c in graded.cells if c.cell_type == "code" and "time.sleep" in c.source and not any(
        o.get("ename") for o in c.outputs))
    assert slept * 3.8 <= BUDGET + CELL_TIMEOUT, f"{slept} sleeping cells ran: more than the budget allows"


def test_the_reference_keeps_full_marks_on_every_notebook_cell(hostile_class):
    table = hostile_class["table"]["reference"]
    assert all(table[g][0] == table[g][1] for g in _autograded(table))


def test_feedback_for_the_hostile_class_is_written_and_leaks_no_hidden_test(hostile_class):
    """generate_feedback succeeds for the whole corpus (a hidden-test marker in an answer does
    not stop it), and no feedback page shows a line of a hidden test."""
    root = hostile_class["root"]
    proc = subprocess.run(["nbgrader", "generate_feedback", ASSIGNMENT, "--force"], cwd=root, env=course_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    pages = feedback_text(root)
    assert {s for s, _ in pages} == set(hostile_class["graded"])
    leaks = {key: [line for line in HIDDEN_LINES if line in text] for key, text in pages.items()}
    leaks = {k: v for k, v in leaks.items() if v}
    assert not leaks, f"hidden test code in feedback: {dict(list(leaks.items())[:2])}"
    marker = pages[("hidden_marker_in_answer", f"{Q1}.html")]
    assert "nothing to see" in marker, "the student's own comment was eaten"


RACY = ["repatch_thread", "trace_skips_asserts", "endless_loop", "forges_channel_messages", "replace_input",
        "memory_bomb", "hunt_the_grader", "displayhook_credit"]


def test_racy_entries_get_identical_grades_three_times(hostile_class):
    """The entries most likely to depend on timing (threads, timeouts, interrupts, forged
    messages) are graded twice more: every grade the same as the first time."""
    root = hostile_class["root"]
    args = [a for s in RACY for a in ("--student", s)]
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-m", "grading.batch.runner", "--workers", "2", *args], cwd=root,
                              env=course_env(**LIMITS),
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        again = grade_table(root)
        changed = {s: {g: (hostile_class["table"][s][g], again[s][g]) for g in again[s]
                       if again[s][g] != hostile_class["table"][s][g]} for s in RACY}
        assert not any(changed.values()), f"grades changed on a regrade: {changed}"
