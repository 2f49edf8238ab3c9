"""Helpers the tests and the benchmarks share: a throwaway copy of the course, the environment to
run commands in it (grading.course.course_env, which copy_course uses too), a synthetic class,
its gradebook, a free port, and the hidden-test lines nothing a student sees may contain.

Kept out of conftest.py so test modules (and bench/) can import them by a name no other conftest
shadows. The tests find this module by pytest.ini's ``pythonpath``; bench/ puts tests/ on its path.
"""
import atexit
import functools
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from grading import sample_class
from grading.cells import grade_id
from grading.course import ASSIGNMENT, copy_course, course_env, notebook_names
from grading.reports.gradebook import cell_table, read_grades
from ml_conceptual import sample_class as course_class

REPO = Path(__file__).resolve().parent.parent


def run(cmd, cwd, **env):
    """Run a command in the course copy; fail the test with its output if it fails."""
    proc = subprocess.run(cmd, cwd=cwd, env=course_env(**env), capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}")
    return proc


@functools.cache
def _generated_course():
    """This process's course copy with release/ generated into its SQLite gradebook (removed at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="generated-course-"))
    atexit.register(shutil.rmtree, folder, True)
    return copy_course(folder / "course", REPO)


def make_course(root, db_url=None):
    """A fresh course at root: source, config and grading code, release generated there (into
    the gradebook at ``db_url`` when given, else the copy's own SQLite file).

    With the SQLite gradebook, ``nbgrader generate_assignment`` (about 3 s of CPU) runs once per
    test process, in a course of its own; every course after that is a copy of it, its release/
    and gradebook.db included."""
    if db_url:
        return copy_course(root, REPO, db_url=db_url)
    shutil.copytree(_generated_course(), root, dirs_exist_ok=True)
    return Path(root)


def students(*ids):
    """The sample students with these ids (grading/sample_class.py), in that order."""
    by_id = {s.id: s for s in course_class.STUDENTS}
    return [by_id[i] for i in ids]


def build_students(root, ids, notebooks=None):
    """The sample students ``ids`` written into root/submitted (as `make sample` writes them all);
    with ``notebooks`` (names), each submits only those (the others are missing and score 0)."""
    sample_class.build(root / "submitted", students(*ids), root / "source" / ASSIGNMENT,
                       root / "release" / ASSIGNMENT)
    for path in (root / "submitted").glob(f"*/{ASSIGNMENT}/*.ipynb") if notebooks else []:
        if path.parts[-3] in ids and path.stem not in notebooks:
            path.unlink()


def submitted_only(grades, notebooks):
    """A student's grades ({grade_id: (score, max_score)}) as they would be had the student
    submitted only ``notebooks``: every cell of the others scores 0 of its points."""
    import nbformat
    kept = {grade_id(c) for name in notebooks
            for c in nbformat.read(REPO / "source" / ASSIGNMENT / f"{name}.ipynb", as_version=4).cells}
    return {g: score if g in kept else (0, score[1]) for g, score in grades.items()}


def synthetic_class(root, n, kinds=None, notebooks=None):
    """n submissions in root/submitted (a course copy): copies of sample students under new ids
    ``s0000_<kind>``, cycling through ``kinds`` (sample students; default: every one whose
    notebooks can be read, as the damaged upload has nothing to run). With ``notebooks``
    ({sample student's id: notebook names}), the copies of a kind named there submit only those
    (the others are missing and score 0). Returns {new id: the sample student's id}. The one
    builder of synthetic classes: `bench class`, `bench scale`, test_scale.py."""
    kinds = kinds or [s for s in course_class.STUDENTS if not s.invalid_json]
    staging = Path(root) / "synthetic-templates"
    sample_class.build(staging, kinds, Path(root) / "source" / ASSIGNMENT, Path(root) / "release" / ASSIGNMENT)
    for path in staging.glob(f"*/{ASSIGNMENT}/*.ipynb"):
        if path.stem not in (notebooks or {}).get(path.parts[-3], [path.stem]):
            path.unlink()
    of = {}
    for i in range(n):
        kind = kinds[i % len(kinds)].id
        sid = f"s{i:04d}_{kind}"
        shutil.copytree(staging / kind, Path(root) / "submitted" / sid)
        of[sid] = kind
    shutil.rmtree(staging)
    return of


def grade_table(root, db_url=None):
    """{student: {grade_id: (score, max_score)}} from the course copy's gradebook (its SQLite
    file, or the gradebook at ``db_url``)."""
    grades = read_grades(db_url or f"sqlite:///{root}/gradebook.db")
    return cell_table(grades, lambda cell: (cell.score, cell.max_score))


def feedback_text(root, folder="feedback", assignment=ASSIGNMENT):
    """{(student, file): visible text} of every feedback HTML file, tags stripped."""
    import html
    import re
    out = {}
    for path in (Path(root) / folder).glob(f"*/{assignment}/*.html"):
        text = re.sub(r"<(script|style)\b.*?</\1>", "", path.read_text(), flags=re.S)
        out[(path.parts[-3], path.name)] = html.unescape(re.sub(r"<[^>]+>", "", text))
    return out


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (a server started on it may still
    lose it to another process: start it and retry on failure)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hidden_test_lines(names=None, min_length=12):
    """Lines of source/'s hidden tests (between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN
    TESTS``) of the notebooks ``names`` (default: all), stripped, at least ``min_length``
    characters long, that no visible line also contains: text that, found in feedback or in
    anything else a student sees, can only have come from a hidden test."""
    import nbformat
    hidden, visible = set(), []
    for name in names or notebook_names():
        for cell in nbformat.read(REPO / "source" / ASSIGNMENT / f"{name}.ipynb", as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if "### BEGIN HIDDEN TESTS" in line:
                    inside = True
                elif "### END HIDDEN TESTS" in line:
                    inside = False
                elif inside:
                    if len(line.strip()) >= min_length:
                        hidden.add(line.strip())
                else:
                    visible.append(line)
    shown = "\n".join(visible)
    return {line for line in hidden if line not in shown}


def copy_graded_course(src, dest):
    """A copy of a graded course without what it wrote last (its top-level feedback/ and reports/;
    grading/pages/feedback.py is code and is copied)."""
    src = Path(src)
    shutil.copytree(src, dest, ignore=lambda folder, names: [n for n in names if n in ("feedback", "reports")]
                    if Path(folder) == src else [])
    return Path(dest)
