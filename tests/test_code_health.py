"""The checks `make lint` runs, in the suite so CI enforces them: ruff with the configuration in
pyproject.toml, and no function of grading/ above a cyclomatic complexity of 10 (radon)."""
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
