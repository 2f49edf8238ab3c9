"""Test cells that student code cannot talk into passing.

A student's code runs in the same Python process as the tests that grade it, so it can replace
what the tests use: ``np.allclose = lambda *a, **k: True``, ``builtins.abs``, ``isinstance``,
``np.testing``, IPython's error display, a pre-run hook that patches again before every cell, a
``numpy.py`` next to the notebook. During autograding (only) these preprocessors:

- remove importable files the student added beside the notebooks (a ``numpy.py`` would shadow
  numpy), keeping the instructor's helper modules;
- insert, before any student code, a cell that snapshots the modules the tests rely on and
  IPython's machinery, stored under a name drawn at random for each notebook and never shown;
- insert before every test cell a cell that puts the snapshot back (module attributes, builtins,
  the names ``np`` and ``warnings``, any global shadowing a builtin, IPython's traceback display,
  custom exception handlers and event hooks), so the test runs against the originals;
- remove the inserted cells after execution, so graded copies and feedback look as submitted.

The limit: code that deliberately searches the kernel's memory for the snapshot, or a thread
that keeps patching while a test runs, can still interfere; the sandbox bounds what that gains.
"""
import os
import secrets
import shutil

from nbformat.v4 import new_code_cell
from nbgrader.preprocessors import NbGraderPreprocessor

MARK = "grading_guard"  # cell metadata key of the inserted cells
MODULES = ("builtins", "numpy", "numpy.testing", "numpy.linalg", "numpy.random", "warnings", "math")
BUILTIN_NAMES = ("abs", "all", "any", "bool", "dict", "enumerate", "float", "getattr", "hasattr",
                 "int", "isinstance", "len", "list", "max", "min", "print", "range", "repr", "round",
                 "set", "sorted", "str", "sum", "tuple", "type", "zip", "AssertionError",
                 "Exception", "FloatingPointError", "RuntimeWarning", "TypeError", "ValueError")
HOOK_PACKAGES = ("IPython", "ipykernel", "matplotlib", "matplotlib_inline", "ipywidgets", "comm")
SHELL_METHODS = ("showtraceback", "_showtraceback", "showsyntaxerror", "run_cell", "run_cell_async",
                 "run_code", "run_ast_nodes", "transform_cell", "should_run_async")

SNAPSHOT = """\
def {name}_capture():
    import sys, numpy, numpy.testing, numpy.linalg, numpy.random, warnings, math  # noqa: F401
    mods = {{m: sys.modules[m] for m in {modules!r}}}
    snap = {{m: dict(mod.__dict__) for m, mod in mods.items()}}
    shell = get_ipython()
    classes = [c for c in type(shell).__mro__ if c is not object]
    class_snap = [(c, dict(c.__dict__)) for c in classes]
    return mods, snap, shell, class_snap, sys.excepthook
{name} = {name}_capture()
del {name}_capture
"""

RESTORE = """\
def {name}_restore(t={name}):
    mods, snap, shell, class_snap, excepthook = t
    builtins = mods["builtins"]
    builtins.__dict__.update(snap["builtins"])
    for m, mod in mods.items():
        mod.__dict__.update(snap[m])
    g = shell.user_ns
    g["__builtins__"] = builtins
    g["np"], g["warnings"] = mods["numpy"], mods["warnings"]
    for n in {builtin_names!r}:
        g.pop(n, None)
    for c, d in class_snap:
        for k in {shell_methods!r}:
            if k in d:
                type.__setattr__(c, k, d[k])
    for k in {shell_methods!r}:
        shell.__dict__.pop(k, None)
    shell.custom_exceptions = ()
    for hooks in shell.events.callbacks.values():  # keep only the libraries' own hooks
        hooks[:] = [h for h in hooks if str(getattr(h, "__module__", "") or "").split(".")[0] in {hook_packages!r}]
    mods["builtins"].__dict__["__import__"]("sys").excepthook = excepthook
{name}_restore()
del {name}_restore
"""

IMPORTABLE = (".py", ".pyc", ".so", ".pth", ".pyd")


def _guard_cell(source):
    return new_code_cell(source, metadata={MARK: True})


def _is_test_cell(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


class GuardTestCells(NbGraderPreprocessor):
    """Before execution: drop student-added modules, snapshot, restore before each test cell."""

    def preprocess(self, nb, resources):
        folder = resources.get("metadata", {}).get("path")
        if folder:
            self._remove_student_modules(folder, resources)
        name = "_" + secrets.token_hex(8)
        cells = [_guard_cell(SNAPSHOT.format(name=name, modules=MODULES))]
        restore = RESTORE.format(name=name, builtin_names=BUILTIN_NAMES, shell_methods=SHELL_METHODS,
                                 hook_packages=HOOK_PACKAGES)
        for cell in nb.cells:
            if _is_test_cell(cell):
                cells.append(_guard_cell(restore))
            cells.append(cell)
        nb.cells = cells
        return nb, resources

    def _remove_student_modules(self, folder, resources):
        from pathlib import Path
        folder = Path(folder).resolve()  # <course>/autograded/<student>/<assignment>
        source = folder.parents[2] / "source" / folder.name
        for entry in os.scandir(folder):
            path = entry.path
            if entry.is_dir():
                if os.path.exists(os.path.join(path, "__init__.py")) and not (source / entry.name).is_dir():
                    self.log.warning("Removing the student's package %s (it could shadow a library)", entry.name)
                    shutil.rmtree(path)
            elif entry.name.endswith(IMPORTABLE):
                ours = source / entry.name
                if not ours.is_file() or ours.read_bytes() != open(path, "rb").read():
                    self.log.warning("Removing the student's module %s (it could shadow a library)", entry.name)
                    os.remove(path)


class RemoveGuardCells(NbGraderPreprocessor):
    """After execution: take the inserted cells out again."""

    def preprocess(self, nb, resources):
        nb.cells = [c for c in nb.cells if not c.metadata.get(MARK)]
        return nb, resources
