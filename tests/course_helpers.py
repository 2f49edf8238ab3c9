"""Helpers the tests share: a throwaway copy of the course and its gradebook.

Kept out of conftest.py so test modules can import them by a name no other conftest shadows.
"""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grading.course import ASSIGNMENT, copy_course  # noqa: E402
from grading.gradebook import cell_table, read_grades  # noqa: E402


def course_env(**extra):
    """Environment for nbgrader subprocesses: the venv's bin first (nbgrader runs `alembic`)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("GRADEBOOK_URL", None)  # tests use the course copy's own SQLite gradebook
    env.update(extra)
    return env


def run(cmd, cwd, **env):
    """Run a command in the course copy; fail the test with its output if it fails."""
    proc = subprocess.run(cmd, cwd=cwd, env=course_env(**env), capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}")
    return proc


def make_course(root):
    """A fresh course at root: source, config and grading code, release generated there."""
    return copy_course(root, REPO)


def grade_table(root, db_url=None):
    """{student: {grade_id: (score, max_score)}} from the course copy's gradebook (its SQLite
    file, or the gradebook at ``db_url``)."""
    grades = read_grades(db_url or f"sqlite:///{root}/gradebook.db")
    return cell_table(grades, lambda cell: (cell.score, cell.max_score))


def feedback_text(root, folder="feedback"):
    """{(student, file): visible text} of every feedback HTML file, tags stripped."""
    import html
    import re
    out = {}
    for path in (Path(root) / folder).glob(f"*/{ASSIGNMENT}/*.html"):
        text = re.sub(r"<(script|style)\b.*?</\1>", "", path.read_text(), flags=re.S)
        out[(path.parts[-3], path.name)] = html.unescape(re.sub(r"<[^>]+>", "", text))
    return out
