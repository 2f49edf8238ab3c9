"""`make bench`: every benchmark of the course, medians of several runs.

    python -m bench [section ...]      sections: notebooks, autograde, demo, class, widget (default: all)
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


def bench_widget(changes=30):
    """Question 3's explorer: time from a slider change to a new PNG in the Image widget (aim: well
    under 100 ms), with a reference gradient_descent, in this process (no browser)."""
    import numpy as np
    sys.path.insert(0, str(SOURCE))
    from descent_explorer import build_explorer

    def reference_descent(grad_fn, w0, lr, n_steps):
        trajectory = np.empty((n_steps + 1, len(w0)))
        trajectory[0] = w0
        for t in range(n_steps):
            trajectory[t + 1] = trajectory[t] - lr * grad_fn(trajectory[t])
        return trajectory

    start = time.perf_counter()
    explorer = build_explorer(reference_descent)
    built = time.perf_counter() - start
    sliders = [explorer.w1_slider, explorer.w2_slider, explorer.lr_slider, explorer.steps_slider]
    values = [np.linspace(-0.5, 0.5, changes), np.linspace(0.0, 0.6, changes),
              np.geomspace(0.05, 1.0, changes), np.linspace(20, 200, changes).round()]
    print(f"q3 explorer: built in {built * 1e3:.0f} ms; {changes} changes per slider, slider change -> new PNG (aim well under 100 ms):")
    everything = []
    for slider, series in zip(sliders, values):
        times = []
        for value in series:
            value = int(value) if slider is explorer.steps_slider else float(value)
            start = time.perf_counter()
            slider.value = value  # fires the observer: run descent, update artists, render, encode
            times.append(time.perf_counter() - start)
        everything += times
        print(f"  {slider.description:14s} median {statistics.median(times) * 1e3:6.1f} ms   "
              f"max {max(times) * 1e3:6.1f} ms")
    print(f"  {'all sliders':14s} median {statistics.median(everything) * 1e3:6.1f} ms")


def bench_class_section():
    from bench.class_bench import bench_class
    bench_class()


SECTIONS = {"notebooks": bench_notebooks, "autograde": bench_autograde, "demo": bench_demo,
            "class": bench_class_section, "widget": bench_widget}


def main(argv):
    for name in argv or list(SECTIONS):
        SECTIONS[name]()
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
