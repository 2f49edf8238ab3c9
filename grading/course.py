"""Where the course lives, and nbgrader's API with the course's own configuration.

The engine knows no course of its own: it grades the course whose ``nbgrader_config.py`` it finds.

- The **course root** is nbgrader's: the working directory when it holds an ``nbgrader_config.py``
  (as every nbgrader command reads it), or the ``c.CourseDirectory.root`` that file sets. Where the
  working directory holds none, the folder above this package when that holds one (the engine
  kept inside its course, as in this repository and its copies), else the working directory.
- The **assignment** is ``c.Course.assignment`` of that configuration, or the only folder of
  ``source/`` (grading/settings.py).

``COURSE_ROOT``, ``ASSIGNMENT``, ``SOURCE``, ``RELEASE``, ``SUBMITTED`` and ``AUTOGRADED`` are found
when first read (``from grading.course import ASSIGNMENT``), once per process.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from traitlets.config import Config

CONFIG_FILE = "nbgrader_config.py"
PACKAGE_PARENT = Path(__file__).resolve().parent.parent
_FOUND = ("COURSE_ROOT", "ASSIGNMENT", "SOURCE", "RELEASE", "SUBMITTED", "AUTOGRADED")
# declared, not assigned: found on first read by __getattr__ below
COURSE_ROOT: Path
ASSIGNMENT: str
SOURCE: Path
RELEASE: Path
SUBMITTED: Path
AUTOGRADED: Path


def find_root(cwd: str | Path | None = None) -> tuple[Path, Config | None]:
    """(the course root, its configuration) as the module docstring says they are found."""
    cwd = Path.cwd() if cwd is None else Path(cwd)
    if (cwd / CONFIG_FILE).is_file():
        config = load_config(cwd)
        root = config.CourseDirectory.root if "root" in config.CourseDirectory else ""
        return (Path(root).resolve() if root else cwd.resolve()), config
    if (PACKAGE_PARENT / CONFIG_FILE).is_file():
        return PACKAGE_PARENT, load_config(PACKAGE_PARENT)
    return cwd.resolve(), None


def find_assignment(root: str | Path, config: Config | None = None) -> str:
    """``c.Course.assignment``, or the only folder of ``root``/source/; a clear error otherwise."""
    if config is not None and config.Course.get("assignment"):
        return str(config.Course.assignment)
    source = Path(root) / "source"
    folders = sorted(p.name for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if source.is_dir() else []
    if len(folders) != 1:
        found = ", ".join(folders) or "no assignment folder"
        raise LookupError(f"which assignment does the engine grade? {source} holds {found}: set "
                          f"c.Course.assignment in {Path(root) / CONFIG_FILE}")
    return folders[0]


def _find() -> dict[str, Any]:
    root, config = find_root()
    assignment = find_assignment(root, config)
    return {"COURSE_ROOT": root, "ASSIGNMENT": assignment, "SOURCE": root / "source" / assignment,
            "RELEASE": root / "release" / assignment, "SUBMITTED": root / "submitted",
            "AUTOGRADED": root / "autograded"}


def __getattr__(name: str) -> Any:
    if name not in _FOUND:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals().update(_find())
    return globals()[name]


def notebook_names() -> list[str]:
    """The assignment's notebooks (without .ipynb), in order."""
    source = __getattr__("SOURCE")
    return sorted(p.stem for p in source.glob("*.ipynb"))


def sample_class(root: str | Path | None = None, config: Config | None = None) -> ModuleType | None:
    """The course's sample-class module (``c.Course.sample_class``), imported from the course root;
    None when the course names none."""
    root = Path(__getattr__("COURSE_ROOT") if root is None else root)
    config = load_config(root) if config is None else config
    name = str(config.Course.get("sample_class", ""))
    if not name:
        return None
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module(name)


def load_config(root: str | Path | None = None) -> Config:
    """The traitlets Config from the course's nbgrader_config.py (as every nbgrader command reads it)."""
    from traitlets.config.loader import PyFileConfigLoader
    root = __getattr__("COURSE_ROOT") if root is None else root
    return PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()


def nbgrader_api(root: str | Path | None = None, config: Config | None = None) -> Any:
    """An NbGraderAPI bound to the course at ``root``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    root = __getattr__("COURSE_ROOT") if root is None else root
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


def course_code(root: str | Path, config: Config | None = None) -> list[Path]:
    """The course's own Python a copy of it needs, as paths under ``root``: the engine when it is
    kept inside the course (as here), and the top-level package or module of its sample class."""
    root = Path(root)
    config = load_config(root) if config is None else config
    names = ["grading"] if PACKAGE_PARENT == root.resolve() else []
    own = str(config.Course.get("sample_class", "")).split(".")[0]
    names += [n for n in (own, own + ".py") if own]
    return [root / n for n in names if (root / n).exists()]


def copy_course(dest: str | Path, root: str | Path | None = None, db_url: str | None = None) -> Path:
    """A fresh course at dest with what a clone has (source, config, the course's own code) and
    release/ generated there: a throwaway place for tests and benchmarks to grade in. The gradebook
    is the copy's own SQLite file, or the empty database at ``db_url`` (as GRADEBOOK_URL)."""
    import shutil
    import subprocess
    root = Path(__getattr__("COURSE_ROOT") if root is None else root)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(root / "source", dest / "source")
    config = load_config(root)
    for path in course_code(root, config):
        if path.is_dir():
            shutil.copytree(path, dest / path.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, dest / path.name)
    shutil.copy(root / CONFIG_FILE, dest / CONFIG_FILE)
    env = course_env(**({"GRADEBOOK_URL": db_url} if db_url else {}))
    assignment = find_assignment(dest, config)
    subprocess.run(["nbgrader", "generate_assignment", assignment, "--force", "--log-level=WARN"],
                   cwd=dest, env=env, check=True, capture_output=True)
    return dest
