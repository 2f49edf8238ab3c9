"""Class benchmark: stock `nbgrader autograde` (one process) against the parallel runner.

A synthetic class (copies of the sample students, all notebooks) is graded alternately by both,
several rounds, in two throwaway course copies; then the floor: starting a kernel and executing
the same notebooks with nbclient, no nbgrader. Prints medians, the speed-up, the per-submission
cost against the floor, and whether both gave identical grades.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course_helpers import course_env, synthetic_class  # tests/, on the path by bench/__main__.py
from grading.course import ASSIGNMENT, copy_course, notebook_names

N_STUDENTS = int(os.environ.get("BENCH_CLASS_SIZE", "40"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def _timed(cmd, cwd):
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=course_env(), capture_output=True)
    return time.perf_counter() - start


def execute_submission(folder):
    """Seconds to start a kernel and execute each notebook of one submission with nbclient
    (no nbgrader, no sandbox): the floor's unit of work."""
    import nbformat
    from nbclient import NotebookClient
    start = time.perf_counter()
    for name in notebook_names():
        nb = nbformat.read(Path(folder) / f"{name}.ipynb", as_version=4)
        NotebookClient(nb, timeout=30, kernel_name="python3", allow_errors=True, shutdown_kernel="immediate",
                       resources={"metadata": {"path": str(folder)}}).execute()
    return time.perf_counter() - start


def floor(root, students, workers):
    """The floor over the whole class, two ways: (median seconds per submission executed one at
    a time, seconds per submission at the runner's parallelism = wall x workers / submissions)."""
    import concurrent.futures
    import multiprocessing
    folders = [str(root / "submitted" / sid / ASSIGNMENT) for sid in students]
    serial = statistics.median(execute_submission(f) for f in folders)
    start = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(execute_submission, folders))
    parallel = (time.perf_counter() - start) * workers / len(folders)
    return serial, parallel


def bench_class(workers=None):
    from grading.reports.gradebook import cell_table, read_grades
    workers = workers or os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        stock_root = copy_course(Path(tmp) / "stock")
        ours_root = copy_course(Path(tmp) / "ours")
        for root in (stock_root, ours_root):
            students = list(synthetic_class(root, N_STUDENTS))
        print(f"class benchmark: {len(students)} submissions x {len(notebook_names())} notebooks, "
              f"{ROUNDS} rounds, runner with {workers} workers")
        stock, ours = [], []
        for r in range(ROUNDS):
            stock.append(_timed(["nbgrader", "autograde", ASSIGNMENT, "--force"], stock_root))
            ours.append(_timed([sys.executable, "-m", "grading.batch.runner", "--workers", str(workers)], ours_root))
            print(f"  round {r + 1}: stock {stock[-1]:6.1f} s   runner {ours[-1]:6.1f} s")
        floor_serial, floor_parallel = floor(ours_root, students, workers)

        def table(root):
            return cell_table(read_grades(f"sqlite:///{root}/gradebook.db"), lambda cell: cell.score)
        identical = table(stock_root) == table(ours_root)
    s_med, o_med = statistics.median(stock), statistics.median(ours)
    per_submission = o_med * workers / len(students)
    print(f"  stock nbgrader autograde (1 process): median {s_med:6.1f} s")
    print(f"  parallel runner ({workers} workers):       median {o_med:6.1f} s")
    print(f"  speed-up: {s_med / o_med:.2f}x (target >= 1.8x)")
    print(f"  per-submission cost (runner wall x workers / submissions): {per_submission:.2f} s")
    print("  floor (kernel start + nbclient execution, no nbgrader, every submission of the class):")
    print(f"    one at a time, median:                                  {floor_serial:.2f} s per submission")
    print(f"    {workers} at a time like the runner (wall x workers / subs): {floor_parallel:.2f} s per submission")
    print(f"  cost / floor (one at a time): {per_submission / floor_serial:.2f} (target <= 1.3)")
    print(f"  cost / floor (same parallelism): {per_submission / floor_parallel:.2f}")
    print(f"  grades identical to stock: {'yes' if identical else 'NO'}")
