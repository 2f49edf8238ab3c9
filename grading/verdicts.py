"""Test cells judged outside the student's kernel; the verdict written as the cell's output.

During autograding a test cell (nbgrader ``grade`` and not ``solution``) is never sent to the
student's kernel. Its code, as the gradebook holds it, runs here, in the grading worker, in a
namespace of the notebook's own, and reaches the student's work through grading/channel.py.
The verdict is the cell's only output: nothing when every assert held, else one error output
with the exception's type and message (never a line of the test's code), so nbgrader's own
grading reads it. Nothing the student's code prints or displays during a test reaches the cell,
the grade or the feedback.

The rules, for instructors writing test cells (they keep working unchanged in a student's own
JupyterLab, where they run in the kernel as ordinary cells):

- **Set-up the tests may use** comes from the notebook's locked (instructor) code cells, taken
  from the gradebook: their ``import`` statements, and calls of functions of the modules they
  import (``np.set_printoptions(...)``). Helper modules are imported from the instructor's copy
  of the assignment (release/, else source/), never from the student's folder. Anything else in
  a set-up cell (a figure, a data set built by a call of a bare name) runs in the kernel only;
  a test that needs data builds it itself or calls a helper module's function.
- **Names a test reads** (before or after it binds them) resolve in this order: what earlier
  test cells and the set-up bound here; Python's builtins; then the student's kernel. A
  student's function becomes a stand-in that calls it through the channel; a student's constant
  (``N_WEIGHTS``) is copied as plain data when the test cell starts; anything else is an
  ``Unreadable`` stand-in that fails any check. Student code can therefore not replace ``np``,
  ``abs`` or ``isinstance`` for a test.
- **Arguments and results** are plain data: numbers, strings, booleans, None, lists, tuples,
  dicts and numeric numpy arrays. The student's function works on copies; what it changes in
  place is copied back into the test's own arrays and lists, so "leaves its input unchanged"
  tests work, and a function that returns one of its arguments returns the test's own object.
- **Callbacks**: a function of the test passed to a student function (``lambda w: A @ w``)
  runs here; the student's code calls it through the channel. A student function passed on
  (``activation=relu``) is passed by name and runs in the kernel.
- **Rebinding a student's name** in a test (``softmax = _ref_softmax`` before calling
  ``mse_grad_logits``, put back in a ``finally``) rebinds it for the student's code too, as
  it would in a kernel: during each call the kernel's name stands for the test's function (a
  callback; its code stays here). This is how a test grades one function on its own when it
  calls the student's other functions.
- **Errors and warnings** of the student's code are raised in the test with the same built-in
  type (``except ValueError`` works; other types arrive as ``StudentError``); warnings are
  re-raised here, and the test's ``np.errstate`` is applied to each call.
- **Time**: a test cell gets the per-cell timeout (``Execute.timeout``) for itself and every
  call it makes; a student function still running then is interrupted and the test fails.
- **Tests that inspect source** (for example "no Python loop") call ``inspect.getsource`` on
  the student's function, as they would in a kernel. Here the source comes from the notebook
  being graded, never from the kernel: the ``def`` that last binds the name in a code cell before
  the test (read as text, never run). If the name's last binding is not a ``def`` (an
  assignment, an import), ``getsource`` raises ``OSError`` and the test should fail. So does
  every name once a code cell the student could edit can rebind names where the text does not
  show it (``globals()``, ``exec``, ``setattr``, ``__code__``, ``sys.modules``, a star import,
  ``%run``...; ``rebinds_invisibly`` lists them): from there on the text no longer says which
  code a name runs. The functions a student's function calls are found as in a kernel:
  ``inspect.getclosurevars(inspect.unwrap(f)).globals`` holds, by name, each student function
  its ``def`` reads (with its own source), so a test can follow a helper, or the loop version
  it delegates to.
"""
import ast
import builtins
import contextlib
import functools
import io
import os
import sys
import time
import warnings
from pathlib import Path

from nbformat.v4 import new_output

from grading.cells import is_locked
from grading.channel import KernelDied, KernelHung, StudentFunction

MAX_TEST_STDOUT = 20_000  # characters of what a test cell itself prints


def _bound_and_loaded(tree):
    """(names the code binds anywhere, names it loads)."""
    bound, loaded = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound, loaded


@functools.cache
def _transformer():
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager()


def python_text(source):
    """A cell's source as plain Python, as IPython would run it (magics and ``!`` lines become
    calls); one TransformerManager per process, made on first use."""
    return _transformer().transform_cell(source)


def setup_statements(source):
    """The statements of an instructor's set-up cell that tests may rely on: imports, and calls
    of functions of the modules imported (IPython magics are dropped first)."""
    try:
        tree = ast.parse(python_text(source))
    except SyntaxError:
        return []
    modules, kept = set(), []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            kept.append(node)
            if isinstance(node, ast.Import):
                modules.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif _module_call(node, modules):
            kept.append(node)
    return kept


def _module_call(node, modules):
    """Whether the statement is a bare call of a function of one of ``modules`` (``np.seed(0)``)."""
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute) and isinstance(node.value.func.value, ast.Name)
            and node.value.func.value.id in modules)


@contextlib.contextmanager
def _helpers_from(folder):
    """Import the assignment's helper modules from ``folder`` (the instructor's copy)."""
    folder = str(folder)
    names = {p.stem for p in Path(folder).glob("*.py")}
    for name in names:  # a module of that name loaded from anywhere else is not ours
        module = sys.modules.get(name)
        if module is not None and os.path.dirname(getattr(module, "__file__", "") or "") != folder:
            del sys.modules[name]
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        sys.path.remove(folder)


# Calls, attributes, modules and magics through which code rebinds a name (or swaps the code
# behind it) without a binding statement the text shows.
_REBINDING_CALLS = {"globals", "vars", "locals", "exec", "eval", "setattr", "delattr", "__import__"}
_REBINDING_ATTRS = {"__code__", "__globals__", "__dict__", "__builtins__", "__closure__", "modules",
                    "user_ns", "user_global_ns", "push", "f_globals", "f_locals"}
_REBINDING_MODULES = {"builtins", "ctypes", "gc", "importlib"}
# (not %autoreload, %load, %writefile or %reset: they bind no name by themselves, and the first
# is a habit of honest notebooks)
_REBINDING_MAGICS = {"run", "store", "macro", "recall", "rerun"}
UNTRUSTED = "<the notebook's text no longer says which code its names run>"  # key in student_sources


def _call_name(node):
    """``f`` of a call ``f(...)``, ``attr`` of ``x.attr(...)``, else ""."""
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _literal(node, index):
    """The string constant at position ``index`` of a call's arguments, else None."""
    arg = node.args[index] if len(node.args) > index else None
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def _rebinding_call(node):
    name = _call_name(node)
    if isinstance(node.func, ast.Name) and name in _REBINDING_CALLS:
        return f"{name}()"
    if isinstance(node.func, ast.Name) and name == "getattr" and (_literal(node, 1) or "__").startswith("__"):
        return "getattr() of a computed or dunder name"
    if name in ("run_line_magic", "run_cell_magic") and _literal(node, 0) in _REBINDING_MAGICS:
        return f"%{_literal(node, 0)}"
    return None


def _rebinding_import(node):
    modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
    if any(m.split(".")[0] in _REBINDING_MODULES for m in modules):
        return "import " + ", ".join(modules)
    if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
        return f"from {node.module} import *"
    return None


def _rebinding_node(node):
    """What of ``node`` can rebind names invisibly to the text, or None."""
    if isinstance(node, ast.Call):
        return _rebinding_call(node)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return _rebinding_import(node)
    if isinstance(node, ast.Attribute) and node.attr in _REBINDING_ATTRS:
        return f".{node.attr}"
    if isinstance(node, ast.Name) and node.id == "__builtins__":
        return "__builtins__"
    return None


def rebinds_invisibly(tree):
    """The first thing in ``tree`` through which code can rebind a name, or swap the code behind
    it, where the text shows no binding (``globals()[name] = ...``, ``exec``, ``f.__code__ = ...``,
    ``sys.modules``, a star import, ``%run``...), or None."""
    for node in ast.walk(tree):
        found = _rebinding_node(node)
        if found:
            return found
    return None


def student_sources(cells, found=None):
    """{name: source of the def} for names whose last top-level binding in these code cells is
    a ``def`` (the notebook's text, parsed and never run); other bindings remove the name.
    ``found``: a dict from earlier cells to update in place. Once a cell that is not locked (the
    student's) rebinds invisibly (``rebinds_invisibly``), no name has a source any more, for the
    rest of the notebook: ``found`` keeps only UNTRUSTED, with what did it."""
    found = {} if found is None else found
    for cell in cells:
        if cell.get("cell_type") != "code" or UNTRUSTED in found:
            continue
        try:
            text = python_text(cell.get("source", ""))
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        how = None if is_locked(cell) else rebinds_invisibly(tree)
        if how:
            found.clear()
            found[UNTRUSTED] = how
        else:
            _record_bindings(tree, text, found)
    return found


def statement_binds(node):
    """The names a top-level statement binds in the notebook's namespace: a def its own name,
    any other statement every name it binds (a class: its methods' too)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return {node.name}
    return _bound_and_loaded(ast.Module(body=[node], type_ignores=[]))[0]


def _record_bindings(tree, text, found):
    """A cell's top-level statements into ``found``: a def's text by its name; any other binding
    removes the names it binds."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            found[node.name] = "\n".join(text.splitlines()[start - 1:node.end_lineno]) + "\n"
        else:
            for name in statement_binds(node):
                found.pop(name, None)


def _free_names(source):
    """Names a ``def``'s text reads that it does not bind itself (its globals, in a kernel)."""
    try:
        tree = ast.parse(source)
        bound, loaded = _bound_and_loaded(tree)
        for node in tree.body:  # the def's own name is a global inside it (a recursive call)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inside = _bound_and_loaded(ast.Module(body=node.body, type_ignores=[]))[0]
                if node.name not in inside | {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}:
                    bound.discard(node.name)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    return loaded - bound


def _source_stand_ins(sources):
    """{name: function object} for the student's defs ``sources`` ({name: text}): each one's
    ``inspect.getsource`` is its text (registered in linecache under a name of its own), and
    ``inspect.getclosurevars(...).globals`` names the stand-ins of the student functions its text
    reads. Their code is a stub that reads those names: the student's code is never compiled here."""
    import linecache
    import types
    stand_ins, namespaces = {}, {}
    for name, source in sources.items():
        if not name.isidentifier():
            continue
        filename = f"<student's {name}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        reads = sorted(n for n in _free_names(source) if n in sources and n.isidentifier())
        body = f"return ({', '.join(reads)},)" if reads else "pass"
        stub = compile(f"def {name}():\n    {body}\n", filename, "exec").co_consts[0]
        namespaces[name] = {"__builtins__": {}, "__name__": "__main__"}  # as a kernel's functions
        stand_ins[name] = types.FunctionType(stub, namespaces[name], name)
    for name, namespace in namespaces.items():
        namespace.update({n: stand_ins[n] for n in stand_ins[name].__code__.co_names if n in stand_ins})
    return stand_ins


def _verdict(printed, error):
    """A test cell's outputs: what the test printed (cut to MAX_TEST_STDOUT), then its error if
    it failed, as the exception's type and message only."""
    outputs = []
    text = printed[:MAX_TEST_STDOUT]
    if text:
        outputs.append(new_output("stream", name="stdout", text=text))
    if error is not None:
        ename = type(error).__name__
        evalue = str(error)
        outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))
    return outputs


class TrustedTests:
    """The test cells of one notebook, run on the grader's side against one student kernel."""

    def __init__(self, setup_sources, helpers_folder, channel, timeout):
        self.channel, self.timeout = channel, timeout
        self.sources = {}  # the student's defs by name (student_sources), for inspect.getsource
        self.namespace = {"__name__": "__grading_tests__", "__builtins__": builtins}
        self.count = 0
        self.setup_errors = []  # a set-up statement that fails costs the tests that need it, no more
        statements = [s for source in setup_sources for s in setup_statements(source)]
        helpers = _helpers_from(helpers_folder) if helpers_folder else contextlib.nullcontext()
        with helpers, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for statement in statements:
                try:
                    exec(compile(ast.Module(body=[statement], type_ignores=[]), "<set-up>", "exec"), self.namespace)
                except Exception as err:
                    self.setup_errors.append(f"{ast.unparse(statement)[:200]}: {type(err).__name__}: {err}")

    def run(self, source, deadline=None):
        """Outputs for one test cell: [] if it passed, else one error output (plus what the
        test itself printed). KernelDied and KernelHung propagate: the notebook stops there."""
        self.count += 1
        deadline = deadline or time.monotonic() + (self.timeout or 60)
        printed = io.StringIO()
        self.channel.begin(deadline)
        error = scope = None
        student = {}
        try:
            tree = ast.parse(source)
            student = self._student_names(tree)
            scope = dict(self.namespace)
            scope.update(student)
            self.channel.scope, self.channel.resolved = scope, student
            with contextlib.redirect_stdout(printed), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(tree, "<test cell>", "exec"), scope)
        except (KernelDied, KernelHung):
            raise
        except BaseException as err:  # noqa: B036  (the verdict of any failure is the same: failed)
            error = err
        finally:
            self._finish(scope, student, error)
        return _verdict(printed.getvalue(), error)

    def _student_names(self, tree):
        """{name: stand-in} of the names the test reads or binds that only the student's kernel
        has (a name may be read before it is bound, or only rebound); a student function whose
        ``def`` is in the notebook carries that source for ``inspect.getsource``."""
        bound, loaded = _bound_and_loaded(tree)
        wanted = {n for n in bound | loaded if n not in self.namespace and not hasattr(builtins, n)}
        student = self.channel.describe(wanted) if wanted else {}
        stand_ins = None
        for name, value in student.items():
            if isinstance(value, StudentFunction) and name in self.sources:
                stand_ins = stand_ins or _source_stand_ins(self.sources)
                value.__wrapped__ = stand_ins[name]
        return student

    def _finish(self, scope, student, error):
        """After a test cell: keep what it bound, close the session. A kernel that died or hung
        while closing propagates, unless the test had already failed."""
        if scope is not None:
            self._keep(scope, student)
        self.channel.scope = self.channel.resolved = None
        try:
            self.channel.end()
        except (KernelDied, KernelHung):
            if error is None:
                raise

    def _keep(self, scope, student):
        """What the test cell bound stays for later test cells (as in a kernel, also when it
        failed). A name the kernel has is never kept, whatever the test bound to it: later
        tests look it up in the kernel again (a test that failed before putting back the
        student's ``softmax`` must not leave its reference in place for the next one)."""
        for name, value in scope.items():
            if name not in student:
                self.namespace[name] = value
