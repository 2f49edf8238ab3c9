"""The parallel runner grades exactly as stock nbgrader does, and keeps graders' work on regrade.

What only reads the sample class's grades reads conftest.graded_class (graded once); a test that
grades again (regrade, a killed worker, repeated runs) does it on a few students in its own copy.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from course_helpers import build_students, course_env, grade_table, make_course, run, submitted_only
from grading import sample_class
from grading.cells import grade_id, is_grade
from grading.course import ASSIGNMENT
from ml_conceptual import sample_class as course_class
from ml_conceptual.sample_class import Q1

# one of each way a submission is graded: full marks, the untouched release (every stub raises),
# a wrong answer whose test calls the student's other functions, a deleted test cell, a damaged file
STOCK = ["reference", "untouched", "q1_flipped_sign", "deleted_test_cell", "broken_json"]
Q1_ONLY = [Q1]  # what the tests below submit for a student whose kind shows in question 1


def test_grades_identical_to_stock_nbgrader(graded_class, tmp_path):
    """Stock nbgrader (one process, a student after the other) on one submission of each kind
    gives the grades the runner gave the same students in the whole class's run. The reference
    submits every notebook (every test cell of the course, judged both ways, passes); the others
    differ in question 1 and submit only that (the rest is missing: 0 both ways)."""
    root = make_course(tmp_path / "stock")
    build_students(root, STOCK[:1])
    build_students(root, STOCK[1:], notebooks=Q1_ONLY)
    # stock nbgrader, one process; it exits 1 because of the broken notebook, and grades the rest.
    # Its kernels start cold (c.Sandbox.warm_start off), the runner's warm: they must grade alike
    subprocess.run(["nbgrader", "autograde", ASSIGNMENT, "--force"], cwd=root,
                   env=course_env(GRADING_WARM_START="0"), capture_output=True)
    stock, ours = grade_table(root), graded_class["table"]
    ours = {s: ours[s] if s == STOCK[0] else submitted_only(ours[s], Q1_ONLY) for s in STOCK}
    broken = {s.id for s in course_class.STUDENTS if s.invalid_json}
    assert broken <= set(STOCK) and set(stock) <= set(STOCK)
    for student in set(STOCK) - broken:
        assert ours[student] == stock[student], f"{student}: runner and stock nbgrader disagree"
    for student in broken:  # stock fails the whole student; the runner zeroes only the broken notebook
        nb = next(s for s in course_class.STUDENTS if s.id == student).invalid_json
        source = nbformat.read(graded_class["root"] / "source" / ASSIGNMENT / f"{nb}.ipynb", as_version=4)
        cells = {grade_id(c) for c in source.cells if is_grade(c)}
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
    build_students(root, ["reference"], notebooks=Q1_ONLY)  # the answers that change are question 1's
    grade = [sys.executable, "-m", "grading.batch.runner", "--workers", "1"]
    run(grade, cwd=root)
    q1 = course_class.Q1
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
    cell = next(c for c in nb.cells if grade_id(c) == "derivation")
    cell.source += "\n\nAdded after the deadline."
    nbformat.write(nb, path)
    run(grade, cwd=root)
    assert _manual_state(root, "reference", "derivation", q1)[2] is True


def test_runner_reports_progress_and_names_failures(graded_class):
    err = graded_class["stderr"]
    assert f"graded {len(graded_class['table'])}/{len(graded_class['table'])}" in err
    assert "failures 0" in err and "left" in err


def _auto_scores(root):
    from grading.reports.gradebook import cell_table, read_grades
    return cell_table(read_grades(f"sqlite:///{root}/gradebook.db"), lambda cell: cell.auto_score)


# a full-marks, an unreadable, a restored-cell and an overflowing submission: two rounds on two workers
REPEATED = ["reference", "broken_json", "deleted_test_cell", "q1_overflowing_softmax"]


def test_grading_three_times_gives_identical_grades(graded_class, tmp_path):
    """A few sample students graded three times: once in the whole class's run
    (conftest.graded_class), twice more in their own copy (two workers, so the students meet in
    other orders and pairings; each submits question 1 only, where the four differ). Every grade
    the same in all three, every automatic score the same in the last two."""
    root = make_course(tmp_path / "course")
    build_students(root, REPEATED, notebooks=Q1_ONLY)
    grade = [sys.executable, "-m", "grading.batch.runner", "--workers", "2"]
    run(grade, cwd=root)
    first = _auto_scores(root)
    assert set(first) == set(REPEATED)
    table = grade_table(root)
    assert {s: table[s] for s in REPEATED} == {s: submitted_only(graded_class["table"][s], Q1_ONLY) for s in REPEATED}
    run(grade, cwd=root)
    assert _auto_scores(root) == first
    assert grade_table(root) == table


# ----------------------------------------------------------------------------- a worker that dies
def _fake_grade(student, always_kill, flags):
    """A stand-in for grading: "victim*" students SIGKILL their own worker (as the
    out-of-memory killer would) -- on every attempt if always_kill, else only the first."""
    import os
    import signal
    import time
    from pathlib import Path

    from grading.batch.worker import StudentResult
    if student.startswith("victim"):
        flag = Path(flags) / student
        if always_kill or not flag.exists():
            flag.touch()
            os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.2)  # work long enough that other tasks are queued or running when a worker dies
    return StudentResult(student, True, 0.2)


class _FakeTask:
    """The runner's task protocol around _fake_grade (the payload is (student, always_kill, flags))."""

    def __init__(self, always_kill, flags):
        self.always_kill, self.flags = always_kill, flags

    def prepare(self, job):
        return (job.student, self.always_kill, self.flags)

    @staticmethod
    def run(payload):
        return _fake_grade(*payload)

    def finish(self, job, output):
        return output


class _RebuildablePool:
    """A local backend like the runner's own, counting the pools it made."""

    def __init__(self, task):
        import concurrent.futures
        import multiprocessing
        self.task, self.made = task, []
        self._new = lambda: concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
        self.rebuild()

    def rebuild(self):
        self.made.append(self._new())
        self.executor = self.made[-1]


def _fan_out_with_a_dying_worker(tmp_path, always_kill):
    import io

    from grading.batch import runner
    students = ["s0", "s1", "victim", "s2", "s3", "s4", "s5"]
    backend = _RebuildablePool(_FakeTask(always_kill, str(tmp_path)))
    stream = io.StringIO()
    line = runner.ProgressLine(stream)
    try:
        graded, failed = runner.run_jobs(backend, [runner.GradingJob(s) for s in students], 1,
                                         runner.Tally(len(students), line))
    finally:
        backend.executor.shutdown()
    return graded, failed, backend.made, stream.getvalue()


def test_a_dead_worker_costs_its_student_one_retry_not_the_batch(tmp_path):
    graded, failed, pools, log = _fan_out_with_a_dying_worker(tmp_path, always_kill=False)
    attempts = {r.student: r.attempts for r in graded}
    assert not failed, failed
    assert set(attempts) == {"s0", "s1", "victim", "s2", "s3", "s4", "s5"}
    assert attempts.pop("victim") == 2  # charged once, then graded
    assert set(attempts.values()) == {1}, attempts  # the others went again for free
    assert len(pools) == 2, "the broken pool was not rebuilt exactly once"
    assert log.count("retrying") == 1 and "victim: retrying" in log, log


def test_a_student_whose_worker_dies_twice_is_named_and_the_rest_graded(tmp_path):
    graded, failed, pools, log = _fan_out_with_a_dying_worker(tmp_path, always_kill=True)
    assert [r.student for r in failed] == ["victim"]
    assert failed[0].attempts == 2 and "SIGKILL" in failed[0].error, failed[0]
    assert sorted(r.student for r in graded) == ["s0", "s1", "s2", "s3", "s4", "s5"]
    assert all(r.attempts == 1 for r in graded), graded
    assert len(pools) == 3
    assert "victim: FAILED" in log and "graded 7/7 | failures 1" in log, log


def _kill_the_worker_grading(temp, student, child, seconds=300):
    """SIGKILL, once, the worker process grading ``student``, as the out-of-memory killer would:
    its pid is in the runner's marker for that student while it grades it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and child.poll() is None:
        for marker in temp.glob(f"grading-markers-*/{student}"):
            try:
                os.kill(int(marker.read_text()), signal.SIGKILL)
                return True
            except (OSError, ValueError):  # gone, or caught while it was written
                pass
        time.sleep(0.01)
    return False


def test_runner_survives_a_worker_killed_while_grading(tmp_path, request):
    """End to end: the runner's own pool, real grading, one worker SIGKILLed mid-student."""
    root = make_course(tmp_path / "course")
    chosen = [s for s in course_class.STUDENTS if s.id in {"reference", "untouched", "q1_flipped_sign"}]
    assert len(chosen) == 3
    build_students(root, [s.id for s in chosen], notebooks=Q1_ONLY)
    victim = chosen[0].id
    # the runner's own temporary folders (its markers say which worker grades whom); short, as the
    # kernels' unix sockets are made in it too
    temp = Path(tempfile.mkdtemp(prefix="runner-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(temp, ignore_errors=True))
    with subprocess.Popen([sys.executable, "-m", "grading.batch.runner", "--workers", "2"], cwd=root, text=True,
                          env=course_env(TMPDIR=str(temp)), stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        killed = _kill_the_worker_grading(temp, victim, child)
        stdout, stderr = child.communicate(timeout=600)
    proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    assert killed, f"the worker grading {victim} was never seen: the test proved nothing\n{stderr}"
    assert proc.returncode == 0, proc.stderr
    assert f"{victim}: retrying" in proc.stderr, proc.stderr
    assert proc.stderr.count("retrying") == 1, proc.stderr
    assert f"graded {len(chosen)}/{len(chosen)} | failures 0" in proc.stderr, proc.stderr
    assert set(grade_table(root)) == {s.id for s in chosen}
