"""Grading beyond one machine: a PostgreSQL gradebook and Dask workers give the same grades.

Every test grades a small synthetic class (course_helpers.synthetic_class: copies of sample
students under new ids, submitting question 1 only (the damaged upload question 4 too), with the
builder `bench scale` uses for its 200-submission load of whole submissions) in its
own course copy whose gradebook is its own database on a throwaway PostgreSQL server
(tests/pg_server.py, loopback only), and compares the grades, per student and per grade_id, with
the reference: what the SQLite run of conftest.graded_class gave the sample student copied.
The kinds copied are the ones these paths can get wrong: full marks, an unreadable notebook, a
deleted test cell, a wrong answer. The load itself is `python -m bench scale`.

PostgreSQL must be installed (`apt-get install -y postgresql`; .ci/run does it): without it these
tests fail and say so.
"""
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_helpers import (
    course_env,
    free_port,
    grade_table,
    make_course,
    run,
    students,
    submitted_only,
    synthetic_class,
)
from grading.cells import grade_id
from grading.course import ASSIGNMENT
from ml_conceptual.sample_class import Q1, Q4
from pg_server import ThrowawayPostgres, bin_dir

# sample students copied into the synthetic class, once each: four students on two workers is two
# rounds, so every path still has tasks queued behind busy workers (and a worker to kill mid-task).
# What tells these kinds apart is in question 1, so each copy submits question 1 only (a quarter
# of the work; the other notebooks are missing and score 0, which the comparison checks too), and
# the damaged upload question 4 beside it: a student whose readable notebooks are graded.
KINDS = ("reference", "broken_json", "deleted_test_cell", "q1_flipped_sign")
CLASS_SIZE = len(KINDS)
SUBMITS = {kind: (Q1, Q4) if kind == "broken_json" else (Q1,) for kind in KINDS}


@pytest.fixture(scope="session")
def pg():
    if bin_dir() is None:
        pytest.fail("PostgreSQL is not installed: apt-get install -y postgresql (.ci/run does it)")
    with ThrowawayPostgres() as server:
        yield server


@pytest.fixture(scope="session")
def pg_course(tmp_path_factory, pg):
    """A course copy with the synthetic class in submitted/, its release generated into a
    PostgreSQL database that each test clones (CREATE DATABASE ... TEMPLATE): faster than
    generating the release again for every test."""
    url = pg.new_database("course_template")
    root = make_course(tmp_path_factory.mktemp("course_template"), db_url=url)
    synthetic_class(root, CLASS_SIZE, kinds=students(*KINDS), notebooks=SUBMITS)
    return root


@pytest.fixture(scope="session")
def of(pg_course):
    """{synthetic student: the sample student it copies}."""
    return {p.name: p.name.split("_", 1)[1] for p in (pg_course / "submitted").iterdir()}


def fresh_course(tmp_path_factory, pg, pg_course, name):
    """(root, db_url) of a new copy of pg_course with its own gradebook database."""
    url = pg.new_database(name, template="course_template")
    root = tmp_path_factory.mktemp(name) / "course"
    shutil.copytree(pg_course, root)
    return root, url


def grade_class_in_postgres(tmp_path_factory, pg, pg_course, name, runner_args=(), **env):
    """The synthetic class graded by the runner in a fresh course copy whose gradebook is a new
    PostgreSQL database. Returns (root, db_url, finished runner process)."""
    root, url = fresh_course(tmp_path_factory, pg, pg_course, name)
    proc = run([sys.executable, "-m", "grading.batch.runner", *runner_args], cwd=root, GRADEBOOK_URL=url, **env)
    return root, url, proc


def assert_same_grades(table, reference, what):
    assert set(table) == set(reference), f"{what}: students {sorted(set(table) ^ set(reference))}"
    diffs = [f"{student}/{grade_id}: {table[student].get(grade_id)} != {reference[student][grade_id]}"
             for student in sorted(reference) for grade_id in sorted(reference[student])
             if table[student].get(grade_id) != reference[student][grade_id]]
    extra = [f"{s}/{g}" for s in table for g in set(table[s]) - set(reference[s])]
    assert not diffs and not extra, f"{what} differs from the reference: {diffs + extra}"


def graded_once_each(stderr):
    """{student: how many times the progress line reported it finished}."""
    counts = {}
    for line in stderr.replace("\r", "\n").splitlines():
        if line.startswith("graded ") and "|" in line:
            student, status = line.rsplit("|", 1)[1].strip().rsplit(": ", 1)
            if status in {"ok", "FAILED"}:
                counts[student] = counts.get(student, 0) + 1
    return counts


@pytest.fixture(scope="session")
def reference(graded_class, of):
    """The reference grades of the synthetic class: on the notebooks it submits, each student gets
    what its sample student got in SQLite from local worker processes (conftest.graded_class;
    test_autograde_sample_class checks those against the expected failures of every sample
    student); every cell of a notebook it did not submit scores 0 of its points."""
    assert len(of) == CLASS_SIZE and set(of.values()) == set(KINDS), of
    return {student: submitted_only(graded_class["table"][kind], SUBMITS[kind]) for student, kind in of.items()}


def test_postgres_gradebook_gives_the_sqlite_grades(tmp_path_factory, pg, pg_course, reference):
    root, url, proc = grade_class_in_postgres(tmp_path_factory, pg, pg_course, "local_pool", ["--workers", "2"])
    assert "grading on Dask" not in proc.stderr  # the default stays local worker processes
    assert_same_grades(grade_table(root, url), reference, "PostgreSQL gradebook")
    assert graded_once_each(proc.stderr) == {s: 1 for s in reference}


def test_dask_local_cluster_gives_the_same_grades(tmp_path_factory, pg, pg_course, reference):
    root, url, proc = grade_class_in_postgres(
        tmp_path_factory, pg, pg_course, "dask_local", GRADING_EXECUTOR="dask", GRADING_WORKERS="2")
    assert "grading on Dask, a local cluster: 2 worker processes" in proc.stderr, proc.stderr[-2000:]
    assert_same_grades(grade_table(root, url), reference, "Dask local cluster")
    assert graded_once_each(proc.stderr) == {s: 1 for s in reference}


def test_a_worker_killed_mid_task_loses_and_duplicates_nobody(tmp_path_factory, pg, pg_course, reference):
    import psutil
    root, url = fresh_course(tmp_path_factory, pg, pg_course, "killed")
    # output to files, not pipes: a pipe stays open as long as any process that inherited it lives
    out, err = root.parent / "runner.out", root.parent / "runner.err"
    with open(out, "w") as out_file, open(err, "w") as err_file:
        runner = subprocess.Popen([sys.executable, "-m", "grading.batch.runner"], cwd=root, text=True,
                                  stdout=out_file, stderr=err_file,
                                  env=course_env(GRADEBOOK_URL=url, GRADING_EXECUTOR="dask", GRADING_WORKERS="2"))
    killed, orphans = None, []
    try:
        deadline = time.monotonic() + 90
        while killed is None and time.monotonic() < deadline and runner.poll() is None:
            # a Dask worker process (spawned by its nanny in the runner) busy grading: it has a kernel
            for worker in psutil.Process(runner.pid).children():
                try:
                    if "spawn_main" not in " ".join(worker.cmdline()):
                        continue
                    kernels = [k for k in worker.children(recursive=True) if "ipykernel" in " ".join(k.cmdline())]
                except psutil.NoSuchProcess:
                    continue
                if kernels:
                    worker.send_signal(signal.SIGKILL)
                    killed, orphans = worker.pid, kernels
                    break
            time.sleep(0.05)
        runner.wait(timeout=300)
        # the killed worker's kernel dies with it (the sandbox's --die-with-parent)
        alive = still_running(orphans, seconds=10)
    finally:
        if runner.poll() is None:
            runner.kill()
        for kernel in orphans:
            try:
                kernel.kill()
            except psutil.NoSuchProcess:
                pass
    stdout, stderr = out.read_text(), err.read_text()
    assert killed is not None, "no worker was caught grading: the test did not kill anything"
    assert runner.returncode == 0, f"runner exited {runner.returncode}\n{stdout}\n{stderr[-3000:]}"
    assert not alive, f"the killed worker left processes running: {alive}"
    assert "retrying" in stderr, f"the lost task was not retried:\n{stderr[-3000:]}"
    assert graded_once_each(stderr) == {s: 1 for s in reference}, stderr[-3000:]
    assert_same_grades(grade_table(root, url), reference, "Dask with a killed worker")
    graded = {p.parent.name for p in (root / "autograded").glob(f"*/{ASSIGNMENT}")}
    assert graded == set(reference)  # the broken_json copies too: only their q1 is unreadable


def still_running(processes, seconds):
    """[(pid, name, status, ppid)] of the processes still running after up to ``seconds``. A zombie
    counts as ended: it holds nothing, and a container's init may never reap it."""
    import psutil
    deadline = time.monotonic() + seconds
    while True:
        alive = []
        for proc in processes:
            try:
                if proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append((proc.pid, proc.name(), proc.status(), proc.ppid()))
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def _wait_for_port(port, proc, log, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dask scheduler exited {proc.returncode}: {Path(log).read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("dask scheduler did not start")


def test_ship_files_mode_on_workers_without_the_course_gives_the_same_grades(tmp_path_factory, pg, pg_course,
                                                                            reference, of):
    """A scheduler and two workers started as on other hosts: in a folder without the course,
    without GRADEBOOK_URL. The runner ships each submission and brings the graded copy back."""
    elsewhere = tmp_path_factory.mktemp("worker_host")
    env = course_env()
    env.pop("PYTHONPATH", None)
    dask = str(Path(sys.executable).parent / "dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = open(elsewhere / "scheduler.log", "w")
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 cwd=elsewhere, env=env, stdout=subprocess.DEVNULL, stderr=log)
    workers = None
    try:
        _wait_for_port(port, scheduler, log.name)
        workers = subprocess.Popen([dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
                                    "--local-directory", str(elsewhere)],
                                   cwd=elsewhere, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        root, url, proc = grade_class_in_postgres(tmp_path_factory, pg, pg_course, "shipped",
                                                  DASK_SCHEDULER_ADDRESS=address)
    finally:
        for p in (workers, scheduler):
            if p is not None:
                p.terminate()
        for p in (workers, scheduler):
            if p is not None:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
        log.close()
    assert f"grading on Dask, the scheduler at {address}" in proc.stderr and "shipped as bytes" in proc.stderr
    assert_same_grades(grade_table(root, url), reference, "ship-files mode")
    assert graded_once_each(proc.stderr) == {s: 1 for s in reference}
    # the graded copies came back to the coordinator's autograded/, with the deleted test restored
    import nbformat
    for student in (s for s, kind in of.items() if kind == "deleted_test_cell"):
        nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / "q1_cross_entropy_gradient.ipynb",
                           as_version=4)
        restored = [c for c in nb.cells if grade_id(c) == "test_softmax_large_logits"]
        assert len(restored) == 1 and any(o.output_type == "error" for o in restored[0].outputs), student
