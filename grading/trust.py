"""Test cells that student code cannot talk into passing.

A student's code runs in the same Python process as the tests that grade it, so it can replace
what the tests use: ``np.allclose = lambda *a, **k: True``, ``builtins.abs``, ``isinstance``,
``np.testing``, IPython's error display, a pre-run hook that patches again before every cell, an
AST or input transformer that deletes the asserts of every later cell, a ``numpy.py`` next to the
notebook. During autograding (only):

- GuardTestCells removes importable files the student added beside the notebooks (a ``numpy.py``
  would shadow numpy), keeping the instructor's helper modules, and inserts, before any student
  code, a cell that snapshots the modules the tests rely on and IPython's machinery. The
  snapshot lives in a restore function stored under a name drawn at random for each notebook;
  calling it puts everything back (module attributes, builtins, the names ``np`` and
  ``warnings``, any global shadowing a builtin, IPython's traceback display, input and AST
  transformers, custom exception handlers and event hooks) and returns a random token.
- GuardedExecute (nbgrader's Execute; the sandbox builds on it) asks the kernel to call the
  restore function after every cell, as a ``user_expressions`` entry of the same execute
  request: no extra round trip, and it runs outside the cell's transformers and hooks. The
  kernel skips user expressions after a cell that raised, so before a test cell that follows
  one, the restore is requested on its own (a silent request). A test cell runs only after the
  kernel has answered with the token; if it never does, the test is marked failed, with a
  message that says why.
- RemoveGuardCells removes the snapshot cell after execution, so graded copies and feedback
  look as submitted.

The limit: code that deliberately searches the kernel's memory for the restore function and
rewrites it, or a thread that keeps patching while a test runs, can still interfere; the sandbox
bounds what that gains.
"""
import functools
import os
import queue
import secrets
import shutil

from nbclient.util import run_sync
from nbformat.v4 import new_code_cell, new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

MARK = "grading_guard"  # cell metadata key of the inserted cell, and resources key of the guard
MODULES = ("builtins", "numpy", "numpy.testing", "numpy.linalg", "numpy.random", "warnings", "math")
BUILTIN_NAMES = ("abs", "all", "any", "bool", "dict", "enumerate", "float", "getattr", "hasattr",
                 "int", "isinstance", "len", "list", "max", "min", "print", "range", "repr", "round",
                 "set", "sorted", "str", "sum", "tuple", "type", "zip", "AssertionError",
                 "Exception", "FloatingPointError", "RuntimeWarning", "TypeError", "ValueError")
HOOK_PACKAGES = ("IPython", "ipykernel", "matplotlib", "matplotlib_inline", "ipywidgets", "comm")
SHELL_METHODS = ("showtraceback", "_showtraceback", "showsyntaxerror", "run_cell", "run_cell_async",
                 "run_code", "run_ast_nodes", "transform_cell", "transform_ast", "should_run_async",
                 "user_expressions", "_format_user_obj")
TRANSFORMER_METHODS = ("transform_cell", "do_one_token_transform", "do_token_transforms")
IMPORTABLE = (".py", ".pyc", ".so", ".pth", ".pyd")

SNAPSHOT = """\
def {name}_make():
    import sys, numpy, numpy.testing, numpy.linalg, numpy.random, warnings, math  # noqa: F401
    mods = {{m: sys.modules[m] for m in {modules!r}}}
    snap = {{m: dict(mod.__dict__) for m, mod in mods.items()}}
    shell = get_ipython()
    excepthook = sys.excepthook
    manager = shell.input_transformer_manager
    class_snap = [(c, dict(c.__dict__), {shell_methods!r}) for c in type(shell).__mro__ if c is not object]
    class_snap += [(c, dict(c.__dict__), {transformer_methods!r}) for c in type(manager).__mro__ if c is not object]
    transformers = (list(manager.cleanup_transforms), list(manager.line_transforms),
                    list(manager.token_transformers), list(shell.input_transformers_post),
                    list(shell.ast_transformers))

    def restore():
        builtins = mods["builtins"]
        builtins.__dict__.update(snap["builtins"])
        for m, mod in mods.items():
            mod.__dict__.update(snap[m])
        g = shell.user_ns
        g["__builtins__"] = builtins
        g["np"], g["warnings"] = mods["numpy"], mods["warnings"]
        for n in {builtin_names!r}:
            g.pop(n, None)
        for c, d, methods in class_snap:
            for k in methods:
                if k in d:
                    type.__setattr__(c, k, d[k])
        for k in {shell_methods!r}:
            shell.__dict__.pop(k, None)
        for k in {transformer_methods!r}:
            manager.__dict__.pop(k, None)
        shell.input_transformer_manager = manager
        manager.cleanup_transforms, manager.line_transforms, manager.token_transformers = (
            list(transformers[0]), list(transformers[1]), list(transformers[2]))
        shell.input_transformers_post = list(transformers[3])
        shell.ast_transformers = list(transformers[4])
        shell.custom_exceptions = ()
        for hooks in shell.events.callbacks.values():  # keep only the libraries' own hooks
            hooks[:] = [h for h in hooks if str(getattr(h, "__module__", "") or "").split(".")[0] in {hook_packages!r}]
        sys.excepthook = excepthook
        return {token!r}
    return restore
{name} = {name}_make()
del {name}_make
"""


def _is_test_cell(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


class GuardTestCells(NbGraderPreprocessor):
    """Before execution: drop student-added modules, insert the snapshot cell, and tell
    GuardedExecute (through ``resources``) how to call the restore and what it answers."""

    def preprocess(self, nb, resources):
        folder = resources.get("metadata", {}).get("path")
        if folder:
            self._remove_student_modules(folder, resources)
        name, token = "_" + secrets.token_hex(8), secrets.token_hex(16)
        source = SNAPSHOT.format(name=name, token=token, modules=MODULES, builtin_names=BUILTIN_NAMES,
                                 shell_methods=SHELL_METHODS, transformer_methods=TRANSFORMER_METHODS,
                                 hook_packages=HOOK_PACKAGES)
        nb.cells.insert(0, new_code_cell(source, metadata={MARK: True}))
        resources[MARK] = {"call": f"{name}()", "answer": repr(token)}
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


class GuardedExecute(Execute):
    """nbgrader's Execute that runs every test cell right after the restore has answered."""

    def preprocess(self, nb, resources=None, km=None):
        self._guard = (resources or {}).get(MARK)
        self._restored = False
        return super().preprocess(nb, resources, km=km)

    def _answered(self, reply):
        value = (reply.get("content", {}).get("user_expressions") or {}).get(MARK) or {}
        return value.get("status") == "ok" and value.get("data", {}).get("text/plain") == self._guard["answer"]

    async def _restore_on_its_own(self):
        """Ask for the restore in a silent request of its own; True if it answered."""
        msg_id = self.kc.execute("", silent=True, store_history=False, stop_on_error=False,
                                 user_expressions={MARK: self._guard["call"]})
        try:
            while True:
                reply = await self.kc.get_shell_msg(timeout=self.timeout or 60)
                if reply.get("parent_header", {}).get("msg_id") == msg_id:
                    return self._answered(reply)
        except queue.Empty:
            return False

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if self._guard is None or cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        test = _is_test_cell(cell)
        trusted = not test or self._restored or await self._restore_on_its_own()
        self._restored = False
        plain_execute = self.kc.execute
        self.kc.execute = functools.partial(plain_execute, user_expressions={MARK: self._guard["call"]})
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            del self.kc.execute  # back to the client's own method
        if not trusted:
            message = ("the grading guard could not run before this test (code in the notebook interferes "
                       "with the kernel), so the test does not count")
            cell.outputs.append(new_output("error", ename="GradingGuardError", evalue=message,
                                           traceback=[f"GradingGuardError: {message}"]))
        return cell

    execute_cell = run_sync(async_execute_cell)  # nbclient binds its own coroutine here

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        if self._guard is not None:
            self._restored = self._answered(kwargs["execute_reply"])


class RemoveGuardCells(NbGraderPreprocessor):
    """After execution: take the inserted cell out again."""

    def preprocess(self, nb, resources):
        nb.cells = [c for c in nb.cells if not c.metadata.get(MARK)]
        resources.pop(MARK, None)
        return nb, resources
