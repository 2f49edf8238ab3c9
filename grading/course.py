"""Where the course lives, and nbgrader's API with the course's own configuration."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from traitlets.config import Config

COURSE_ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "conceptual"
SOURCE = COURSE_ROOT / "source" / ASSIGNMENT
RELEASE = COURSE_ROOT / "release" / ASSIGNMENT
SUBMITTED = COURSE_ROOT / "submitted"
AUTOGRADED = COURSE_ROOT / "autograded"


def notebook_names() -> list[str]:
    """The assignment's notebooks (without .ipynb), in order: q1, q2, ..."""
    return sorted(p.stem for p in SOURCE.glob("*.ipynb"))


def load_config(root: str | Path = COURSE_ROOT) -> Config:
    """The traitlets Config from the course's nbgrader_config.py (as every nbgrader command reads it)."""
    from traitlets.config.loader import PyFileConfigLoader
    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def nbgrader_api(root: str | Path = COURSE_ROOT, config: Config | None = None) -> Any:
    """An NbGraderAPI bound to the course at ``root``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    config = load_config(root) if config is None else config
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    return NbGraderAPI(coursedir=coursedir, config=config)


def course_env(**extra: str) -> dict[str, str]:
    """The environment for nbgrader, the runner or JupyterLab in a course copy: this Python's bin
    first on PATH (nbgrader runs `alembic` by name); the gradebook is the copy's own SQLite file
    and grading uses local worker processes unless ``extra`` says otherwise (GRADEBOOK_URL,
    DASK_SCHEDULER_ADDRESS from the caller's shell are dropped); no NBGRADER_EXECUTION left over."""
    import os
    import sys
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    for name in ("GRADEBOOK_URL", "DASK_SCHEDULER_ADDRESS", "NBGRADER_EXECUTION"):
        env.pop(name, None)
    env.update(extra)
    return env


def copy_course(dest: str | Path, root: Path = COURSE_ROOT, db_url: str | None = None) -> Path:
    """A fresh course at dest with what a clone has (source, config, grading code) and release/
    generated there: a throwaway place for tests and benchmarks to grade in. The gradebook is
    the copy's own SQLite file, or the empty database at ``db_url`` (as GRADEBOOK_URL)."""
    import shutil
    import subprocess
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(root / "source", dest / "source")
    shutil.copytree(root / "grading", dest / "grading", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    env = course_env(**({"GRADEBOOK_URL": db_url} if db_url else {}))
    subprocess.run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=WARN"],
                   cwd=dest, env=env, check=True, capture_output=True)
    return dest
