"""A second course, with nothing of this repository's, graded by the engine installed as a package.

``tests/second_course/`` is a minimal course of its own (two notebooks on means and word counts,
hidden tests, a written answer each, a sample class of three). The engine is built into a wheel
(from a copy of ``pyproject.toml`` and ``grading/``, so the working tree gets no build files) and
installed into a fresh virtualenv with the dependencies ``pyproject.toml`` declares, at the pins of
constraints.txt (uv, from the cache `make setup` filled: offline, about a second). The course's
commands then run in that virtualenv (the repository is not on their path), exactly as
docs/another-course.md lists them: release, the sample class, sandboxed parallel grading,
feedback, the report.

The engine must also name nothing of this repository's course: its notebooks, grade ids, helper
modules, sample students, assignment and course id do not occur in ``grading/``.
"""
import json
import os
import re
import shlex
import shutil
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_helpers import REPO, feedback_text, run
from grading.cells import grade_id
from grading.course import ASSIGNMENT, SOURCE
from grading.reports.gradebook import cell_table, read_grades

COURSE = REPO / "tests" / "second_course"
DOC = REPO / "docs" / "another-course.md"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def _doc_block(language, containing):
    """The fenced ``language`` block of docs/another-course.md that contains ``containing``."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.S | re.M)
    return next(b for b in blocks if containing in b)


def _documented_config():
    return _doc_block("python", "c.Course.assignment")


def _documented_commands():
    return [line for line in _doc_block("bash", "grading.batch.runner").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The engine's wheel, built as `pip wheel` builds it from a checkout."""
    tmp = tmp_path_factory.mktemp("engine-build")
    src = tmp / "src"
    shutil.copytree(REPO / "grading", src / "grading", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", src / "pyproject.toml")
    (src / "docs").mkdir()
    shutil.copy(DOC, src / "docs" / DOC.name)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp / "dist", src],
        cwd=tmp)
    (built,) = (tmp / "dist").glob("*.whl")
    return built


@pytest.fixture(scope="module")
def engine_venv(wheel, tmp_path_factory):
    """A fresh virtualenv with the engine's wheel and the dependencies it declares, nothing else."""
    venv = tmp_path_factory.mktemp("engine-venv") / "venv"
    uv = Path(sys.executable).parent / "uv"  # make setup installs it (requirements.txt pins it)
    run([uv, "venv", "-q", "--python", sys.executable, venv], cwd=venv.parent)
    # offline: every pinned package is in uv's cache once `make setup` has installed requirements.txt
    run([uv, "pip", "install", "-q", "--offline", "--python", venv / "bin" / "python", "-c", REPO / "constraints.txt",
         wheel], cwd=venv.parent)
    return venv


@pytest.fixture(scope="module")
def second_course(engine_venv, tmp_path_factory):
    """The second course in a folder of its own, put through the documented commands in the
    engine's virtualenv: {"root", "outputs" (command: stdout + stderr)}."""
    root = tmp_path_factory.mktemp("second-course") / "course"
    shutil.copytree(COURSE, root, ignore=shutil.ignore_patterns("__pycache__"))
    bin_dir = engine_venv / "bin"
    # its own bin first (nbgrader runs alembic by name); bytecode written once, as an install would
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONDONTWRITEBYTECODE": ""}
    outputs = {}
    # which grading the course gets; and what the warm kernels import, compiled once here (inside
    # the sandbox the environment is read-only, so each warm process would compile it again)
    where = run([bin_dir / "python", "-c", "import grading; print(grading.__file__); "
                 "import IPython, ipykernel.ipkernel, ipywidgets, matplotlib.pyplot, numpy"], cwd=root, **env)
    outputs["import grading"] = where.stdout
    for line in _documented_commands():
        cmd = shlex.split(line)
        proc = run([bin_dir / cmd[0], *cmd[1:]], cwd=root, **env)
        outputs[line] = proc.stdout + proc.stderr
    return {"root": root, "venv": engine_venv, "outputs": outputs}


def test_the_wheel_holds_every_file_the_engine_reads(wheel):
    """Every module of grading/ and every file it reads (static/, the kernel-side modules read
    with pkgutil) is in the wheel, and nothing of the course beside it."""
    engine = {p.relative_to(REPO).as_posix() for p in (REPO / "grading").rglob("*")
              if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    with zipfile.ZipFile(wheel) as zf:
        packaged = {n for n in zf.namelist() if not n.split("/")[0].endswith(".dist-info")}
    assert {"grading/step/channel_kernel.py", "grading/step/warm_zygote.py", "grading/pages/static/rubric.js"} <= engine
    assert packaged == engine


def test_the_second_course_is_released_graded_fed_back_and_reported(second_course):
    root, outputs = second_course["root"], second_course["outputs"]
    # the course ran on the installed engine, not on this repository's
    assert Path(outputs["import grading"].strip()).is_relative_to(second_course["venv"])
    # the documented config is the course's config
    assert _documented_config() == (COURSE / "nbgrader_config.py").read_text()

    table = cell_table(read_grades(f"sqlite:///{root}/gradebook.db", "warmup"), lambda c: (c.score, c.max_score))
    auto = {"test_mean", "test_word_counts"}
    points = {g: m for g, (_, m) in table["right"].items()}
    assert points == {"test_mean": 2, "test_word_counts": 3, "median_answer": 1, "split_answer": 1}
    assert all(table["right"][g][0] == points[g] for g in auto)  # full automatic points
    # the wrong student passes the visible check; the hidden one takes exactly the cell's 3 points
    assert {g: table["wrong"][g][0] for g in auto} == {"test_mean": 2, "test_word_counts": 0}
    # the broken upload is named, with what to do, and its readable notebook is graded
    runner = next(out for cmd, out in outputs.items() if "grading.batch.runner" in cmd)
    assert re.search(r"broken: words\.ipynb could not be read as a notebook \(it is not valid JSON\)", runner)
    assert {g: table["broken"][g][0] for g in auto} == {"test_mean": 2, "test_word_counts": 0}

    feedback = feedback_text(root, assignment="warmup")  # (student, file): text
    assert set(feedback) == {("right", "mean.html"), ("right", "words.html"), ("wrong", "mean.html"),
                             ("wrong", "words.html"), ("broken", "mean.html")}
    # the hidden test's message reaches the wrong student, its code does not
    assert "fold the case before counting" in feedback[("wrong", "words.html")]
    report = (root / "reports" / "report.html").read_text()
    assert "fold the case before counting" in report and "broken" in report


def _hidden_lines():
    """Every line of the second course's hidden tests, as the source holds them."""
    lines = set()
    for path in (COURSE / "source" / "warmup").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            for block in HIDDEN.findall(cell.source):
                lines |= {line.strip() for line in block.splitlines() if line.strip()}
    return lines


def test_hidden_tests_reach_neither_release_nor_feedback(second_course):
    root = second_course["root"]
    hidden = _hidden_lines()
    assert len(hidden) >= 4
    release = [p.read_text() for p in (root / "release" / "warmup").glob("*.ipynb")]
    feedback = feedback_text(root, assignment="warmup")  # tags stripped: code highlighted span by span reads as written
    assert len(release) == 2 and len(feedback) == 5
    for text in [*release, *feedback.values()]:
        assert "HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
        leaked = [line for line in hidden if json.dumps(line)[1:-1] in text or line in text]
        assert not leaked, leaked


# English words that are also grade ids of this repository's notebooks: the engine uses them in
# their own sense ("imports", "checks", "reference", ...).
ORDINARY = {"checks", "imports", "linear", "question", "header", "reference", "untouched"}
# Left where it is: the hub's default install paths and course id (grading/hosting/hub.py, where the
# settings registry gave them one home; renaming them moves every installed hub).
NOT_YET = {("hub.py", "ml-conceptual")}


def _course_names():
    """What the engine must not know of this repository's course: its notebooks, grade ids,
    helper modules, sample students, assignment and course id."""
    from ml_conceptual.sample_class import STUDENTS
    names = {ASSIGNMENT, "ml-conceptual"} | {s.id for s in STUDENTS} | {p.stem for p in SOURCE.glob("*.py")}
    for path in SOURCE.glob("*.ipynb"):
        names |= {path.stem} | {grade_id(c) for c in nbformat.read(path, as_version=4).cells if grade_id(c)}
    return names - ORDINARY


def test_the_engine_names_nothing_of_this_course():
    names = _course_names()
    assert {"softmax", "q1_cross_entropy_gradient", "conceptual", "q1_no_minus_one"} <= names
    alternatives = "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
    pattern = re.compile(rf"(?<![\w-])({alternatives})(?![\w-])")
    found = {(path.name, m.group(1)) for path in (REPO / "grading").rglob("*.py")
             for m in pattern.finditer(path.read_text())}
    assert found - NOT_YET == set()
