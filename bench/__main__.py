"""`make bench`: every benchmark of the course, medians of several runs.

    python -m bench [section ...]      sections: notebooks, autograde, demo, widget, browser, class, scale,
                                       speed, similarity, lms, collect, hub, rubric, bounded, lti
                                       (default: all, about 45 minutes on 2 cores)
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# the grading package, and tests/ for the helpers the benchmarks share with the tests
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from course_helpers import course_env, synthetic_class  # noqa: E402
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
        def once(name=name):
            nb = nbformat.read(SOURCE / f"{name}.ipynb", as_version=4)
            client = NotebookClient(nb, timeout=120, kernel_name="python3",
                                    resources={"metadata": {"path": str(SOURCE)}})
            with client.setup_kernel():
                start = time.perf_counter()
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
                return time.perf_counter() - start
        med, times = median_of(once)
        print(f"  {name:32s} median {med:5.2f} s   runs: {fmt(times)}")


def bench_autograde():
    """One student's autograde time inside a running autograde (target: q1 at most 3 s)."""
    from grading import sample_class
    from grading.batch import runner, worker
    from ml_conceptual import sample_class as course_class
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_course(Path(tmp) / "course")
        sample_class.build(root / "submitted", [s for s in course_class.STUDENTS if s.id == "reference"],
                           root / "source" / ASSIGNMENT, root / "release" / ASSIGNMENT)
        runner.add_students(["reference"], f"sqlite:///{root}/gradebook.db")
        worker.grade_student("reference", root=str(root))  # warm-up: imports, first kernel
        print("one student's autograde inside a running grader (all notebooks; target q1 <= 3 s):")
        for name in notebook_names():
            def once(name=name):
                result = worker.grade_student("reference", [name], root=str(root))
                assert result.success, result.error
                return result.seconds
            med, times = median_of(once)
            print(f"  {name:32s} median {med:5.2f} s   runs: {fmt(times)}")
        med, times = median_of(lambda: worker.grade_student("reference", root=str(root)).seconds)
        print(f"  {'all notebooks, one student':32s} median {med:5.2f} s   runs: {fmt(times)}")
        os.chdir(cwd)


def bench_demo():
    """`make demo` end to end (set-up already done)."""
    def once():
        start = time.perf_counter()
        subprocess.run(["make", "--no-print-directory", "demo"], cwd=REPO, check=True, capture_output=True)
        return time.perf_counter() - start
    med, times = median_of(once, runs=3)
    print(f"make demo (environment already installed): median {med:5.1f} s   runs: {fmt(times)}")


def _run_runner(root, env, n, workers):
    """Grade root/submitted with the runner; (wall seconds, seconds per task per worker in the
    steady state after every worker's first task, runner stderr)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "grading.batch.runner"], cwd=root, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"runner exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    done = {int(m.group(1)): float(m.group(2)) for m in
            re.finditer(r"graded (\d+)/\d+ \| failures \d+ \|\s+([\d.]+)s elapsed", proc.stderr.replace("\r", "\n"))}
    assert len(done) == n, f"expected {n} progress lines, got {len(done)}"
    k0 = workers  # the first round pays imports and the first kernel in every worker
    steady = workers * (done[n] - done[k0]) / (n - k0)
    return wall, steady, proc.stderr


def bench_scale():
    """A synthetic class (SCALE_STUDENTS, default 200) graded into PostgreSQL on a local Dask
    cluster and by the local process pool; the in-process floor; a projection to 2,000 students."""
    from grading.batch import runner, worker
    from pg_server import ThrowawayPostgres, bin_dir
    if bin_dir() is None:
        print("scale: skipped, PostgreSQL is not installed (apt-get install -y postgresql)")
        return
    n = int(os.environ.get("SCALE_STUDENTS", "200"))
    workers = int(os.environ.get("GRADING_WORKERS", "0")) or os.cpu_count() or 1
    cwd = os.getcwd()
    with ThrowawayPostgres(max_connections=200) as pg, tempfile.TemporaryDirectory() as tmp:
        template = pg.new_database("course")
        root = copy_course(Path(tmp) / "course", db_url=template)
        of = synthetic_class(root, n)
        ids = list(of)

        # the in-process floor: grade_student in this process, one submission of each kind
        floor_db = pg.new_database("floor", template="course")
        old_url = os.environ.get("GRADEBOOK_URL")
        os.environ["GRADEBOOK_URL"] = floor_db
        try:
            kinds: dict[str, str] = {}
            for sid in ids:
                kinds.setdefault(of[sid], sid)
            runner.add_students(list(kinds.values()), floor_db)
            worker.grade_student(ids[0], root=str(root))  # warm-up: imports, first kernel
            floors = []
            for sid in kinds.values():
                result = worker.grade_student(sid, root=str(root))
                assert result.success, result.error
                floors.append(result.seconds)
            floor = statistics.mean(floors)
        finally:
            os.chdir(cwd)
            if old_url is None:
                os.environ.pop("GRADEBOOK_URL", None)
            else:
                os.environ["GRADEBOOK_URL"] = old_url
        print(f"scale: {n} submissions ({len(kinds)} kinds of sample student), PostgreSQL gradebook, "
              f"{workers} workers on {os.cpu_count()} cores (load average at start "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}: other work on the machine shows here)")
        print(f"  in-process floor (grade_student in one warm process): {floor:.2f} s per submission "
              f"(mean of {len(floors)}: {fmt(floors)})")

        results = {}
        for mode, extra in (("Dask LocalCluster", {"GRADING_EXECUTOR": "dask"}),
                            ("local process pool", {"GRADING_EXECUTOR": "local"})):
            url = pg.new_database(re.sub(r"\W", "_", mode.lower()), template="course")
            env = course_env(GRADEBOOK_URL=url, GRADING_WORKERS=str(workers), **extra)
            wall, steady, _ = _run_runner(root, env, n, workers)
            results[mode] = (wall, steady)
            print(f"  {mode:20s} wall {wall:6.1f} s | {n / wall / workers:.3f} submissions/s per worker "
                  f"(whole run) | steady state {steady:.2f} s per submission per worker, overhead "
                  f"{steady - floor:+.2f} s ({(steady / floor - 1) * 100:+.0f}%) over the floor")
        print(f"  load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        wall, steady = results["Dask LocalCluster"]
        startup = max(0.0, wall - n * steady / workers)
        print(f"  Dask start-up and first tasks, beyond the steady rate: {startup:.1f} s")
        print("  projection, 2,000 students on Dask (steady seconds per submission per worker from this run, "
              "linear in cores, gradebook not the bottleneck):")
        for cores in (16, 64):
            for label, per_task in (("as measured here", steady), ("at the in-process floor", floor)):
                total = startup + 2000 * per_task / cores
                print(f"    {cores:3d} worker cores, {label:24s}: {total / 60:5.1f} min ({total:6.0f} s)")


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
    print(f"q3 explorer: built in {built * 1e3:.0f} ms; {changes} changes per slider, "
          "slider change -> new PNG (aim well under 100 ms):")
    everything = []
    for slider, series in zip(sliders, values, strict=True):
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


def bench_lms(students=300):
    """`make import` of a Canvas bulk download of 300 students x 4 notebooks (target: at most 10 s):
    the whole command, into an empty submitted/ and gradebook, then the same archive again."""
    import zipfile

    from grading import sample_class
    from grading.reports.spreadsheet import write_csv
    from ml_conceptual import sample_class as course_class
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root = copy_course(tmp / "course")
        sample_class.build(tmp / "sample", [s for s in course_class.STUDENTS if s.id == "reference"],
                           root / "source" / ASSIGNMENT, root / "release" / ASSIGNMENT)
        notebooks = {nb: (tmp / "sample" / "reference" / ASSIGNMENT / f"{nb}.ipynb").read_bytes()
                     for nb in notebook_names()}
        roster = [["student_id", "lms_id", "name", "email"]]
        with zipfile.ZipFile(tmp / "submissions.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for i in range(students):
                roster.append([f"s{i:04d}", str(10000 + i), f"Student {i}", f"s{i:04d}@example.edu"])
                for nb, data in notebooks.items():
                    zf.writestr(f"student{i}_{10000 + i}_{50000 + i}_{nb}.ipynb", data)
        write_csv(tmp / "roster.csv", roster)
        shutil.copy(root / "gradebook.db", tmp / "gradebook.empty")
        env = course_env()

        def once(fresh):
            if fresh:
                shutil.rmtree(root / "submitted", ignore_errors=True)
                shutil.copy(tmp / "gradebook.empty", root / "gradebook.db")
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "grading.hosting.lms", "import", str(tmp / "submissions.zip"),
                                   str(tmp / "roster.csv")], cwd=root, env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            word = "new" if fresh else "unchanged"
            assert proc.returncode == 0 and re.search(rf"\b{students} {word}\b", proc.stdout), \
                proc.stdout[-2000:] + proc.stderr[-2000:]
            return seconds
        size = (tmp / "submissions.zip").stat().st_size / 1e6
        print(f"LMS import (python -m grading.hosting.lms import, as make import runs it) of a Canvas archive, "
              f"{students} students x {len(notebooks)} notebooks ({size:.1f} MB zipped; target <= 10 s):")
        med, times = median_of(lambda: once(True))
        print(f"  first import (all new, students created) median {med:5.2f} s   runs: {fmt(times)}")
        med, times = median_of(lambda: once(False))
        print(f"  same archive again (all unchanged)         median {med:5.2f} s   runs: {fmt(times)}")


def bench_class_section():
    from bench.class_bench import bench_class
    bench_class()


def bench_speed():
    """Grading speed over all processes: one submission cold and warm (wall, CPU, where it goes),
    then a synthetic class of 300 (bench/speed_bench.py)."""
    from bench.speed_bench import bench_speed as run
    with tempfile.TemporaryDirectory() as tmp:
        run(tmp)


def bench_browser():
    """Question 3's explorer in JupyterLab + Chromium: slider move to new picture (median of 12)."""
    import json
    out = REPO / ".bench" / "browser_explorer.json"
    out.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "tests/browser/test_explorer_browser.py"], cwd=REPO, check=True, capture_output=True)
    data = json.loads(out.read_text())
    print(f"q3 explorer in the browser (JupyterLab, Chromium): slider move -> new picture, median "
          f"{data['median_ms']:.0f} ms over {data['moves']} moves (aim well under 100 ms); runs: "
          + " ".join(f"{t:.0f}" for t in data["times_ms"]))


def bench_similarity(n_students=300, runs=3):
    """The similarity report: on classes built by tests/similarity_class.py (independent students
    with their own habits, planted copies of each kind, outside sources named), the rank of every
    planted pair by kind, the highest honest score and how many honest pairs are flagged; then a
    class of n_students read from disk and compared, median of `runs`, and the peak memory of a
    process that does it (targets: every planted pair above every honest pair, no honest pair
    flagged, 300 students in at most 60 s)."""
    import numpy as np

    import similarity_class as sc
    from grading.reports import similarity

    def ranking(comparison, planted):
        n = len(comparison.students)
        iu = np.triu_indices(n, 1)
        scores = comparison.scores[iu]
        kinds = {frozenset((a, b)): kind for a, b, kind in planted}
        by_kind: dict[str, list[int]] = {}
        honest: list[float] = []
        planted_flagged = 0
        for r, k in enumerate(np.argsort(-scores, kind="stable"), 1):
            kind = kinds.get(frozenset((comparison.students[iu[0][k]], comparison.students[iu[1][k]])))
            if kind:
                by_kind.setdefault(kind, []).append(r)
                planted_flagged += bool(scores[k] >= comparison.flag_line)
            else:
                honest.append(float(scores[k]))
        flagged = sum(h >= comparison.flag_line for h in honest)
        worst = max(r for rs in by_kind.values() for r in rs)
        print("  ranks of the planted pairs: " + "; ".join(f"{k} {rs}" for k, rs in sorted(by_kind.items()))
              + f" (all {len(planted)} first: {'yes' if worst == len(planted) else 'NO'})")
        print(f"  highest honest score {max(honest):.2f}, flag line {comparison.flag_line:.2f}: {flagged} of "
              f"{len(honest)} honest pairs and {planted_flagged} of {len(planted)} planted flagged; "
              f"outside-source flags: {sorted((m.student, m.source) for m in comparison.flagged_matches)}")

    def outside_of(sources, folder):
        folder.mkdir()
        for name, text in sources.items():
            (folder / name).write_text(text)
        return similarity.load_outside_sources(folder)

    for seed in (21, 22, 23):  # seeds the method was not tuned on
        subs, planted, sources, _ = sc.build_class(seed=seed)
        with tempfile.TemporaryDirectory() as tmp:
            comparison = similarity.compare(subs, outside=outside_of(sources, Path(tmp) / "outside"))
        print(f"similarity, a test class (seed {seed}, {len(subs)} students): compared in {comparison.seconds:.2f} s")
        ranking(comparison, planted)

    copies = {"full": 3, "code": 3, "written": 3, "outside": 2}
    extra = sum(copies.values()) + copies["outside"] + 1
    big, big_planted, sources, _ = sc.build_class(n_students - extra, seed=24, copies=copies)
    with tempfile.TemporaryDirectory() as tmp:
        sc.write_class(big, Path(tmp) / "submitted")
        outside = outside_of(sources, Path(tmp) / "outside")
        results = []

        def once():
            start = time.perf_counter()
            results.append(similarity.compare(similarity.load_submissions(Path(tmp) / "submitted"), outside=outside))
            return time.perf_counter() - start
        med, times = median_of(once, runs=runs)
        start = time.perf_counter()
        similarity.section_html(results[-1])
        section = time.perf_counter() - start
        probe = subprocess.run(
            [sys.executable, "-c", "import resource, sys; from grading import similarity as s; "
             "s.compare(s.load_submissions(sys.argv[1]), outside=s.load_outside_sources(sys.argv[2])); "
             "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)", str(Path(tmp) / "submitted"),
             str(Path(tmp) / "outside")], cwd=REPO, capture_output=True, text=True, check=True)
    print(f"similarity, a class of {len(big)} students x {len(notebook_names())} notebooks ({len(big_planted)} planted "
          f"pairs, 2 outside sources), read from disk and compared (target <= 60 s): median {med:.1f} s   runs: "
          f"{fmt(times)}; the report section {section:.1f} s more; peak memory of a process doing it "
          f"{int(probe.stdout.split()[-1]) / 1024:.0f} MiB")
    ranking(results[-1], big_planted)


def bench_collect(students=200, runs=3):
    """`nbgrader collect` of a class from an exchange (one submission folder per student, the
    release's files, each student's files owned by a uid of their own when run as root): nbgrader's
    own collect against the course's (grading/hosting/collect.py: every entry checked, bytes copied by
    hand, checked again), medians of 3 runs."""
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default.collect import ExchangeCollect

    from grading.hosting.collect import CheckedCollect
    uids = {f"s{i:04d}": 60000 + i if os.geteuid() == 0 else os.geteuid() for i in range(students)}

    class Collect(CheckedCollect):  # the class's accounts, made up (no useradd for a benchmark)
        def account_uid(self, student):
            return uids[student]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        inbound = tmp / "exchange" / "course" / "inbound"
        inbound.mkdir(parents=True)
        files = {p.name: p.read_bytes() for p in (REPO / "release" / ASSIGNMENT).iterdir() if p.is_file()}
        files.update({"timestamp.txt": b"2026-12-01 10:00:00.000000 UTC", "submission_secret.txt": b"0" * 128})
        for student, uid in uids.items():
            folder = inbound / f"{student}+{ASSIGNMENT}+2026-12-01 10:00:00.000000 UTC+r"
            folder.mkdir()
            for name, data in files.items():
                (folder / name).write_bytes(data)
                os.chown(folder / name, uid, uid)
            os.chown(folder, uid, uid)
        with Gradebook(f"sqlite:///{tmp / 'gradebook.db'}", "course") as gb:
            gb.add_assignment(ASSIGNMENT)
        size = sum(map(len, files.values())) / 1e6

        def once(kind, **options):
            shutil.rmtree(tmp / "root", ignore_errors=True)
            coursedir = CourseDirectory(root=str(tmp / "root"), course_id="course", assignment_id=ASSIGNMENT,
                                        db_url=f"sqlite:///{tmp / 'gradebook.db'}")
            start = time.perf_counter()
            kind(coursedir=coursedir, root=str(tmp / "exchange"), **options).start()
            seconds = time.perf_counter() - start
            assert len(list((tmp / "root" / "submitted").iterdir())) == students
            return seconds
        print(f"collect of {students} submissions ({len(files)} files, {size:.1f} MB each), median of {runs}:")
        for label, kind, options in (("nbgrader's ExchangeCollect", ExchangeCollect, {"check_owner": False}),
                                     ("the course's CheckedCollect", Collect, {})):
            med, times = median_of(lambda kind=kind, options=options: once(kind, **options), runs)
            print(f"  {label:28s} {med:5.2f} s  ({fmt(times)})")
def bench_rubric():
    """Keystrokes and seconds to grade one written cell across a class (bench/rubric_bench.py)."""
    from bench.rubric_bench import bench_rubric as run
    run()


def bench_hub():
    """The course through a real JupyterHub (bench/hub_bench.py): login, Fetch, Validate, Submit,
    collect + grade."""
    from bench.hub_bench import bench_hub as run
    run()


def bench_bounded(calls=200):
    """run_bounded's cost per call (a fork, a pipe, a pickle) from a process the size of a grading
    worker, and the worst reply decoded under a bound: time and the caller's memory."""
    import json

    import psutil

    from grading.batch import worker  # noqa: F401 - the worker's imports: a caller of a worker's size
    from grading.step.bounded import OutOfMemory, run_bounded
    me = psutil.Process()
    print(f"run_bounded (caller's RSS {me.memory_info().rss >> 20} MiB, {calls} calls per run):")
    cases = (("len('abc')", len, "abc"), ("json.loads(10 kB)", json.loads, json.dumps(list(range(2000)))))
    for label, fn, arg in cases:
        def direct(fn=fn, arg=arg):
            start = time.perf_counter()
            for _ in range(calls):
                fn(arg)
            return (time.perf_counter() - start) / calls * 1000
        def bounded(fn=fn, arg=arg):
            start = time.perf_counter()
            for _ in range(calls):
                run_bounded(fn, arg, memory_bytes=256 << 20, timeout=10)
            return (time.perf_counter() - start) / calls * 1000
        med_d, _ = median_of(direct)
        med_b, times = median_of(bounded)
        print(f"  {label:20s} direct {med_d:7.3f} ms   bounded median {med_b:6.2f} ms   runs: {fmt(times)}")
    reply = "[" + "[]," * 20_000_000 + "[]]"  # 60 million characters, 20 million lists once decoded
    before = me.memory_info().rss

    def worst():
        start = time.perf_counter()
        try:
            run_bounded(json.loads, reply, memory_bytes=256 << 20, timeout=60)
        except OutOfMemory:
            pass
        return time.perf_counter() - start
    med, times = median_of(worst)
    print(f"  a 60-million-character reply, 256 MiB bound: OutOfMemory after median {med:.2f} s (runs: {fmt(times)}); "
          f"the caller's RSS grew {(me.memory_info().rss - before) >> 20} MiB")


def bench_lti(runs=5):
    """LTI grade passback (grading/hosting/lti.py) of the sample class, and of 300 students, to an LTI 1.3
    platform on loopback (tests/lti_platform.py): token, line item, members, one score each; then
    the same run again (nothing changed: nothing sent). The gradebook's reading is not included."""
    import jwt
    from lti_platform import INSTRUCTOR, LEARNER, Platform

    from grading.hosting import lti
    from ml_conceptual import sample_class as course_class

    def class_of(ids):
        members = {i: {"name": i, "email": f"{i}@example.edu", "roles": [LEARNER]} for i in ids}
        members["ivy"] = {"name": "Ivy", "email": "ivy@example.edu", "roles": [INSTRUCTOR]}
        grades = [lti.Grade(lti.hub_username(i), 40.0 + n % 60, 100.0, n % 3 == 0, "2026-12-01T10:00:00.000Z")
                  for n, i in enumerate(ids)]
        return members, grades

    def once(members, grades, rerun):
        with tempfile.TemporaryDirectory() as state:
            lti.ensure_key(state)
            platform = Platform(members, tool_jwks=lti.jwks(state), page_size=100).start()
            settings = lti.Lti(**platform.settings())
            claims = jwt.decode(platform.id_token("ivy", "n", "t"), options={"verify_signature": False})
            lti.record_launch(state, "lti-ivy", claims)
            try:
                if rerun:
                    lti.passback(settings, state, grades)
                start = time.perf_counter()
                summary = lti.passback(settings, state, grades)
                took = time.perf_counter() - start
            finally:
                platform.stop()
            assert len(summary.sent if not rerun else summary.unchanged) == len(grades), summary.lines()
            return took

    print("LTI passback to a platform on loopback:")
    sample = [s.id.replace("_", "-") for s in course_class.STUDENTS]
    for label, ids in ((f"the sample class ({len(sample)})", sample),
                       ("300 students", [f"s{n:03d}" for n in range(300)])):
        members, grades = class_of(ids)
        for rerun in (False, True):
            med, times = median_of(lambda m=members, g=grades, r=rerun: once(m, g, r), runs)
            what = "again, nothing changed" if rerun else "first passback"
            print(f"  {label:24s} {what:24s} median {med:5.2f} s   runs: {fmt(times)}")


SECTIONS = {"notebooks": bench_notebooks, "autograde": bench_autograde, "demo": bench_demo,
            "widget": bench_widget, "browser": bench_browser, "class": bench_class_section,
            "scale": bench_scale, "speed": bench_speed, "lms": bench_lms, "similarity": bench_similarity,
            "collect": bench_collect, "hub": bench_hub, "rubric": bench_rubric, "bounded": bench_bounded,
            "lti": bench_lti}

# all of them: class (~10 min) and scale (~15 min) grade synthetic classes of 40 and 200
DEFAULT = list(SECTIONS)


def main(argv):
    for name in argv or DEFAULT:
        SECTIONS[name]()
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
