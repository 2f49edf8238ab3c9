"""The runner's steps on their own, fast: plan (what to grade), run (retries, failures, events) on a
fake executor that runs each task at once in this process, and the seams between the modules."""
import ast
import concurrent.futures
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grading.batch import runner
from grading.batch.worker import GradingJob, StudentResult
from grading.course import ASSIGNMENT

REPO = Path(__file__).resolve().parents[1]


class InlineExecutor(concurrent.futures.Executor):
    """Runs every submitted call at once, here; its future holds the result or the exception."""

    def __init__(self):
        self.calls = []

    def submit(self, fn, *args, **kwargs):
        self.calls.append(args)
        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as err:
            future.set_exception(err)
        return future


def _scripted(payload):
    """A task's run: the student's script says what each attempt does ("ok", "fail", "raise")."""
    student, script, attempt = payload
    step = script[min(attempt, len(script) - 1)]
    if step == "raise":
        raise RuntimeError(f"worker lost while grading {student}")
    return StudentResult(student, step == "ok", 0.01, "" if step == "ok" else f"{student}: cell 3 timed out")


class ScriptedTask:
    def __init__(self, scripts):
        self.scripts, self.tries = scripts, {s: 0 for s in scripts}

    def prepare(self, job):
        attempt = self.tries[job.student]
        self.tries[job.student] += 1
        return (job.student, self.scripts[job.student], attempt)

    run = staticmethod(_scripted)

    def finish(self, job, output):
        return output


class InlineBackend:
    """Not rebuilt (no ``rebuild``): a failed task fails its student only."""

    def __init__(self, scripts):
        self.executor, self.task = InlineExecutor(), ScriptedTask(scripts)


def _run(scripts, retries=1):
    backend, events = InlineBackend(scripts), []
    graded, failed = runner.run_jobs(backend, [GradingJob(s) for s in scripts], retries,
                                     runner.Tally(len(scripts), events.append))
    return graded, failed, events, backend


def test_a_student_who_fails_once_is_retried_and_graded():
    graded, failed, events, backend = _run({"a": ["ok"], "flaky": ["fail", "ok"], "b": ["ok"]})
    assert not failed
    assert {r.student: r.attempts for r in graded} == {"a": 1, "flaky": 2, "b": 1}
    assert [(e.student, e.status) for e in events if e.student == "flaky"] == [("flaky", "retrying"), ("flaky", "ok")]
    assert events[-1].done == 3 and events[-1].total == 3 and events[-1].failures == 0
    assert len(backend.executor.calls) == 4  # one task per attempt


def test_a_student_who_fails_every_attempt_is_named_with_the_reason_and_the_rest_graded():
    graded, failed, events, _ = _run({"a": ["ok"], "broken": ["fail"], "lost": ["raise"], "b": ["ok"]})
    assert sorted(r.student for r in graded) == ["a", "b"]
    by_student = {r.student: r for r in failed}
    assert set(by_student) == {"broken", "lost"}
    assert by_student["broken"].attempts == 2 and by_student["broken"].error == "broken: cell 3 timed out"
    assert by_student["lost"].attempts == 2
    assert by_student["lost"].error == "worker failed: RuntimeError: worker lost while grading lost"
    assert [e.status for e in events if e.student == "broken"] == ["retrying", "FAILED"]
    assert events[-1].failures == 2 and events[-1].done == 4


def test_retries_is_the_number_of_extra_attempts():
    for retries, attempts in ((0, 1), (1, 2), (3, 4)):
        _, failed, events, backend = _run({"broken": ["fail"]}, retries=retries)
        assert failed[0].attempts == attempts, retries
        assert len(backend.executor.calls) == attempts
        assert sum(e.status == "retrying" for e in events) == attempts - 1


def test_the_progress_line_is_drawn_from_the_events():
    import io
    stream = io.StringIO()
    line = runner.ProgressLine(stream)
    line(runner.ProgressEvent("flaky", runner.Status.RETRYING, 0, 3, 0, 1.0))
    line(runner.ProgressEvent("flaky", runner.Status.OK, 2, 3, 1, 4.0))
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("graded 0/3 | failures 0 |") and lines[0].endswith("flaky: retrying")
    assert lines[1] == "graded 2/3 | failures 1 |   4.0s elapsed, ~ 2.0s left | flaky: ok"


def _notebook(path, text=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is not None:
        path.write_text(text)
    else:
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)


def test_the_plan_grades_what_can_be_read_and_zeros_the_rest(tmp_path):
    expected = ["q1", "q2"]
    folder = lambda s: tmp_path / s / ASSIGNMENT  # noqa: E731
    for name in expected:
        _notebook(folder("whole") / f"{name}.ipynb")
    _notebook(folder("damaged") / "q1.ipynb")
    _notebook(folder("damaged") / "q2.ipynb", text="{ not json")
    _notebook(folder("renamed") / "q1 (1).ipynb")
    _notebook(folder("renamed") / "q2.ipynb", text="[]")
    plan = runner.plan_class(["whole", "damaged", "renamed"], tmp_path, expected)
    assert plan.jobs == [GradingJob("whole", None), GradingJob("damaged", ("q1",))]
    assert plan.nothing_readable == ["renamed"]
    zeros = {(p.student, p.notebook, p.kind) for p in plan.zeros}
    assert zeros == {("damaged", "q2", "unreadable"), ("renamed", "q2", "unreadable"), ("renamed", "q1", "missing")}
    damaged = next(p for p in plan.problems if p.student == "damaged")
    assert "not valid JSON" in damaged.reason and "re-download" in damaged.advice
    renamed = next(p for p in plan.problems if p.kind == "missing")
    assert "found q1 (1).ipynb instead" in renamed.advice
    # the kind is an enum whose text is what the report prints, as the plain string was
    assert renamed.kind is runner.ProblemKind.MISSING and f"{renamed.kind}: {renamed.reason}".startswith("missing: ")


def test_only_a_local_pool_is_rebuilt_when_a_worker_dies():
    """Rebuilding is a capability (RebuildableBackend: a rebuild() method), not an attribute set to None."""
    from grading.batch.distributed import DaskBackend
    local = runner.LocalBackend(1)  # no worker process starts before a task is submitted
    try:
        assert isinstance(local, runner.RebuildableBackend)
    finally:
        local.close()
    assert not isinstance(runner.GivenExecutor(InlineExecutor()), runner.RebuildableBackend)
    assert not isinstance(InlineBackend({}), runner.RebuildableBackend)
    assert not hasattr(DaskBackend, "rebuild")


def test_importing_the_runner_imports_no_dask():
    code = ("import sys, grading.batch.runner; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {'dask', 'distributed'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def _module_assignments(path):
    """(line, target) of every assignment to an attribute of a module imported in ``path``."""
    tree = ast.parse(path.read_text())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("grading"):
            modules |= {a.asname or a.name for a in node.names if (REPO / "grading" / f"{a.name}.py").exists()}
    found = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in modules:
                found.append((node.lineno, ast.unparse(target)))
    return found


def test_no_module_assigns_another_modules_globals(tmp_path):
    found = {str(p.relative_to(REPO)): _module_assignments(p) for p in sorted((REPO / "grading").glob("*.py"))}
    assert {k: v for k, v in found.items() if v} == {}
    # the check itself can fail: the way the runner's API used to be swapped from outside
    probe = tmp_path / "probe.py"
    probe.write_text("from grading import runner\nimport os\nrunner._API = object()\nos.environ = {}\n")
    assert _module_assignments(probe) == [(3, "runner._API"), (4, "os.environ")]


@pytest.mark.parametrize("executor,address,ship,expected", [
    ("local", "", None, (False, False)), ("dask", "", None, (True, False)),
    ("local", "tcp://h:8786", None, (True, True)), ("dask", "tcp://h:8786", False, (True, False)),
    ("dask", "", True, (True, True))])
def test_runner_settings_choose_the_backend(executor, address, ship, expected):
    from grading.settings import Runner
    settings = Runner(executor=executor, dask_scheduler_address=address, ship_files=ship)
    assert (settings.uses_dask, settings.ships) == expected


def test_grading_without_the_sandbox_is_refused_or_warned_in_the_one_wording(monkeypatch, capsys):
    from grading.settings import UNSANDBOXED, Sandbox
    from grading.step import sandbox
    monkeypatch.setattr(sandbox, "problem", lambda settings: "`bwrap` is not installed")
    with pytest.raises(runner.SandboxUnavailable) as refused:
        runner.require_sandbox(Sandbox())
    assert "cannot start here: `bwrap` is not installed" in str(refused.value)
    assert UNSANDBOXED in str(refused.value) and "GRADING_SANDBOX=off" in str(refused.value)
    runner.require_sandbox(Sandbox(enabled=False))  # knowingly: a warning, no refusal
    assert f"WITHOUT the sandbox (c.Sandbox.enabled = False): {UNSANDBOXED}" in capsys.readouterr().err
    assert UNSANDBOXED in Sandbox.enabled.help and UNSANDBOXED in sandbox.bounds(Sandbox(enabled=False))[0][1]
    assert "source/" in UNSANDBOXED and "gradebook" in UNSANDBOXED and "network" in UNSANDBOXED
