"""The checks `make lint` runs, in the suite so CI enforces them: ruff with the configuration in
pyproject.toml, no function of grading/ above a cyclomatic complexity of 10 (radon), and mypy over
grading/ and bench/ with its configuration there (every function of grading/ annotated)."""
import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_ruff_passes_with_the_committed_configuration():
    proc = subprocess.run([str(BIN / "ruff"), "check", "grading", "bench", "tests"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_function_of_grading_is_above_complexity_10(tmp_path):
    radon = [str(BIN / "radon"), "cc", "-n", "C", "-s"]
    proc = subprocess.run(radon + ["grading"], cwd=REPO, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "", proc.stdout
    # the check can fail: eleven branches in one function
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(11))
    (tmp_path / "complex.py").write_text(f"def f(x):\n{branches}    return -1\n")
    probe = subprocess.run(radon + [str(tmp_path / "complex.py")], capture_output=True, text=True, check=True)
    assert "F 1:0 f - C (12)" in probe.stdout, probe.stdout


def test_mypy_passes_with_the_committed_configuration(tmp_path):
    """Its cache (.venv/mypy-cache) makes a rerun on an unchanged tree take about a second."""
    proc = subprocess.run([str(BIN / "mypy")], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the check can fail, under the same configuration: a module of a grading package with a
    # function left unannotated, and one that returns what it does not say
    (tmp_path / "grading").mkdir()
    (tmp_path / "grading" / "__init__.py").write_text("")
    (tmp_path / "grading" / "probe.py").write_text("def f(x):\n    return x\n\n\ndef g(x: int) -> str:\n    return x\n")
    probe = subprocess.run([str(BIN / "mypy"), "--config-file", str(REPO / "pyproject.toml"), "--cache-dir",
                            str(tmp_path / "cache"), "grading/probe.py"], cwd=tmp_path, capture_output=True, text=True)
    assert "probe.py:1: error: Function is missing a type annotation" in probe.stdout, probe.stdout
    assert "probe.py:6: error: Incompatible return value type" in probe.stdout, probe.stdout


def test_mypy_exempts_only_the_named_modules():
    """Every module of grading/ must be annotated (disallow_untyped_defs), no third-party package is
    ignored wholesale, and only the modules named here are let off (pyproject.toml says why)."""
    import tomllib
    mypy = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]
    assert "ignore_missing_imports" not in mypy and "ignore_errors" not in mypy
    overrides = mypy["overrides"]
    assert any(o["module"] == ["grading", "grading.*"] and o["disallow_untyped_defs"] for o in overrides)
    let_off = {m for o in overrides if o.get("ignore_errors") or o.get("disallow_untyped_defs") is False
               for m in o["module"]}
    assert let_off == {"grading." + n.removesuffix(".py").replace("/", ".") for n in RUN_ELSEWHERE}, let_off


def _unannotated_public_functions(path):
    """Public functions and methods of a module with a parameter or the return not annotated."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name.startswith("_"):
            continue
        args = node.args
        params = [a for a in args.posonlyargs + args.args + args.kwonlyargs if a.arg not in ("self", "cls")]
        params += [a for a in (args.vararg, args.kwarg) if a is not None]
        if node.returns is None or any(a.annotation is None for a in params):
            found.append(f"{path.name}:{node.lineno} {node.name}")
    return found


# sent as source text to a process of their own (the warm process, the kernel's side of the
# channel), never imported by the grader: not held to annotations (pyproject.toml says so to mypy)
RUN_ELSEWHERE = {"step/warm_zygote.py", "step/channel_kernel.py"}  # under grading/


def test_every_public_function_of_grading_is_annotated(tmp_path):
    missing = [f for path in sorted((REPO / "grading").rglob("*.py"))
               if path.relative_to(REPO / "grading").as_posix() not in RUN_ELSEWHERE
               for f in _unannotated_public_functions(path)]
    assert missing == [], missing
    # the check can fail: a return left out, a parameter left out
    (tmp_path / "probe.py").write_text("def f(x: int):\n    pass\n\n\ndef g(x) -> None:\n    pass\n\n\n"
                                       "def _private(x):\n    pass\n")
    assert _unannotated_public_functions(tmp_path / "probe.py") == ["probe.py:1 f", "probe.py:5 g"]


def test_make_help_names_every_phony_target():
    import re
    makefile = (REPO / "Makefile").read_text()
    phony = set()
    for line in makefile.splitlines():
        if line.startswith(".PHONY:"):
            phony |= set(line.split(":", 1)[1].split())
    shown = subprocess.run(["make", "--no-print-directory", "-s", "help"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout
    named = set(re.findall(r"make ([a-z][a-z-]*)", shown)) | set(re.findall(r"/ ([a-z][a-z-]*)", shown))
    assert phony - {"help"} and phony - {"help"} <= named, sorted(phony - {"help"} - named)


def _ask_once(shared, worker, made, at):
    """One xdist process asking conftest.once_per_run for a fixture (in a process of its own),
    at the time ``at`` (both processes ask together)."""
    import os
    import time
    from types import SimpleNamespace

    from conftest import once_per_run
    os.environ["PYTEST_XDIST_WORKER"] = worker
    basetemp = Path(shared) / f"popen-{worker}"
    basetemp.mkdir(exist_ok=True)
    factory = SimpleNamespace(getbasetemp=lambda: basetemp)

    def make(folder):
        with open(made, "a") as log:
            log.write(f"{worker}\n")
        time.sleep(1)  # the other process asks meanwhile
        return {"folder": str(folder), "by": worker}
    time.sleep(max(0.0, at - time.time()))
    return once_per_run(factory, "expensive", make)


def test_a_fixture_shared_by_the_processes_is_made_once(tmp_path):
    """What lets `make test` run on two processes and still grade the sample class once:
    two processes asking at the same time get one result, made by one of them."""
    import concurrent.futures
    import multiprocessing
    import time
    made, at = tmp_path / "made.log", time.time() + 5  # both processes started by then
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        answers = list(pool.map(_ask_once, [str(tmp_path)] * 2, ["gw0", "gw1"], [str(made)] * 2, [at] * 2))
    assert len(made.read_text().split()) == 1, made.read_text()
    assert answers[0] == answers[1] and Path(answers[0]["folder"]).parent == tmp_path
