"""`make bench`: every benchmark of the course, medians of several runs.

    python -m bench [section ...]      sections: notebooks, autograde, demo, class (default: all)
"""
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grading.course import ASSIGNMENT, SOURCE, copy_course, notebook_names  # noqa: E402

RUNS = 5


def median_of(fn, runs=RUNS):
    times = [fn() for _ in range(runs)]
    return statistics.median(times), times


def fmt(times):
    return " ".join(f"{t:.2f}" for t in times)


def bench_notebooks():
    """Each source notebook's execution time once its kernel is up (target: at most 3 s)."""
    import nbformat
    from nbclient import NotebookClient
    print("notebook execution, kernel already up (target <= 3 s):")
    for name in notebook_names():
        def once():
            nb = nbformat.read(SOURCE / f"{name}.ipynb", as_version=4)
            client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(SOURCE)}})
            with client.setup_kernel():
                start = time.perf_counter()
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
                return time.perf_counter() - start
        med, times = median_of(once)
        print(f"  {name:32s} median {med:5.2f} s   runs: {fmt(times)}")


def bench_autograde():
    """One student's autograde time inside a running autograde (target: q1 at most 3 s)."""
    from grading import runner, sample_class
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_course(Path(tmp) / "course")
        sample_class.build(root / "submitted", [s for s in sample_class.STUDENTS if s.id == "reference"],
                           root / "source" / ASSIGNMENT, root / "release" / ASSIGNMENT)
        runner.add_students(["reference"], f"sqlite:///{root}/gradebook.db")
        runner._init_worker(str(root))
        runner.grade_student("reference", root=str(root))  # warm-up: imports, first kernel
        print("one student's autograde inside a running grader (all notebooks; target q1 <= 3 s):")
        for name in notebook_names():
            def once():
                result = runner.grade_student("reference", [name], root=str(root))
                assert result.success, result.error
                return result.seconds
            med, times = median_of(once)
            print(f"  {name:32s} median {med:5.2f} s   runs: {fmt(times)}")
        med, times = median_of(lambda: runner.grade_student("reference", root=str(root)).seconds)
        print(f"  {'all notebooks, one student':32s} median {med:5.2f} s   runs: {fmt(times)}")
        runner._API = None


def bench_demo():
    """`make demo` end to end (set-up already done)."""
    def once():
        start = time.perf_counter()
        subprocess.run(["make", "--no-print-directory", "demo"], cwd=REPO, check=True, capture_output=True)
        return time.perf_counter() - start
    med, times = median_of(once, runs=3)
    print(f"make demo (environment already installed): median {med:5.1f} s   runs: {fmt(times)}")


def bench_class_section():
    from bench.class_bench import bench_class
    bench_class()


SECTIONS = {"notebooks": bench_notebooks, "autograde": bench_autograde, "demo": bench_demo,
            "class": bench_class_section}


def main(argv):
    for name in argv or list(SECTIONS):
        SECTIONS[name]()
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
