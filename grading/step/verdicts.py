"""Test cells judged outside the student's kernel; the verdict written as the cell's output.

During autograding a test cell (nbgrader ``grade`` and not ``solution``) is never sent to the
student's kernel. Its code, as the gradebook holds it, runs here, in the grading worker, in a
namespace of the notebook's own, and reaches the student's work through grading/step/channel.py.
The verdict is the cell's only output: nothing when every assert held, else one error output
with the exception's type and message (never a line of the test's code), so nbgrader's own
grading reads it. Nothing the student's code prints or displays during a test reaches the cell,
the grade or the feedback.

The rules for writing test cells (set-up, student names, what crosses the channel, budgets): docs/test-cells.md.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import io
import os
import sys
import time
import types
import warnings
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbformat import NotebookNode
from nbformat.v4 import new_output

from grading.cells import Cell
from grading.step.channel import KernelChannel, KernelDied, KernelHung, StudentFunction, valid_text

if TYPE_CHECKING:
    from IPython.core.inputtransformer2 import TransformerManager

MAX_TEST_STDOUT = 20_000  # characters of what a test cell itself prints
GRADER_MEMORY_BYTES = 2 * 2**30  # address space a test cell (and what it decodes) may add to the grader


def _address_space() -> int:
    """This process's virtual memory size in bytes (0 where /proc cannot say)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


@contextlib.contextmanager
def bounded_memory(extra_bytes: int) -> Iterator[None]:
    """While the block runs, this process may grow by at most ``extra_bytes`` of address space
    (a soft RLIMIT_AS, put back afterwards): a test computing on what a student's kernel sent gets a
    MemoryError (its test fails) instead of taking the grading worker and the class with it."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    size = _address_space()
    limit = size + extra_bytes if size and extra_bytes else resource.RLIM_INFINITY
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        lowered = True
    except (ValueError, OSError):
        lowered = False
    try:
        yield
    finally:
        if lowered:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _bound_and_loaded(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(names the code binds anywhere, names it loads)."""
    bound: set[str] = set()
    loaded: set[str] = set()
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
def _transformer() -> TransformerManager:
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager()


def python_text(source: str) -> str:
    """A cell's source as plain Python, as IPython would run it (magics and ``!`` lines become
    calls); one TransformerManager per process, made on first use."""
    return _transformer().transform_cell(source)


def setup_statements(source: str) -> list[ast.stmt]:
    """The statements of an instructor's set-up cell that tests may rely on: imports, and calls
    of functions of the modules imported (IPython magics are dropped first)."""
    try:
        tree = ast.parse(python_text(source))
    except SyntaxError:
        return []
    modules: set[str] = set()
    kept: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            kept.append(node)
            if isinstance(node, ast.Import):
                modules.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif _module_call(node, modules):
            kept.append(node)
    return kept


def _module_call(node: ast.stmt, modules: set[str]) -> bool:
    """Whether the statement is a bare call of a function of one of ``modules`` (``np.seed(0)``)."""
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute) and isinstance(node.value.func.value, ast.Name)
            and node.value.func.value.id in modules)


@contextlib.contextmanager
def _helpers_from(folder: str | Path) -> Iterator[None]:
    """Import the assignment's helper modules from ``folder`` (the instructor's copy)."""
    where = str(folder)
    names = {p.stem for p in Path(where).glob("*.py")}
    for name in names:  # a module of that name loaded from anywhere else is not ours
        module = sys.modules.get(name)
        if module is not None and os.path.dirname(getattr(module, "__file__", "") or "") != where:
            del sys.modules[name]
    sys.path.insert(0, where)
    try:
        yield
    finally:
        sys.path.remove(where)


def student_sources(cells: Iterable[Cell], found: dict[str, str] | None = None) -> dict[str, str]:
    """{name: source of the def} for names whose last top-level binding in these code cells is
    a ``def`` (the notebook's text, parsed and never run); other bindings remove the name.
    ``found``: a dict from earlier cells to update in place (a name redefined moves to the end,
    so the dict's order is the order in which the last defs ran)."""
    found = {} if found is None else found
    for text, tree in parsed_code_cells(cells):
        _record_bindings(tree, text, found)
    return found


def parsed_code_cells(cells: Iterable[Cell]) -> Iterator[tuple[str, ast.Module]]:
    """(Python text, parsed tree) of each code cell, as IPython would run it; cells that do not
    parse are left out."""
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        try:
            text = python_text(cell.get("source", ""))
            yield text, ast.parse(text)
        except (SyntaxError, ValueError, RecursionError):
            continue


def solution_names(sources: Iterable[str]) -> set[str]:
    """The names the solution cells ``sources`` (their text, as the gradebook holds it) bind at
    top level: the only names of the student's a test may reach."""
    names: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse(python_text(source))
        except (SyntaxError, ValueError, RecursionError):
            continue
        for node in tree.body:
            names |= statement_binds(node)
    return names


def statement_binds(node: ast.stmt) -> set[str]:
    """The names a top-level statement binds in the notebook's namespace: a def its own name,
    any other statement every name it binds (a class: its methods' too)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return {node.name}
    return _bound_and_loaded(ast.Module(body=[node], type_ignores=[]))[0]


def _record_bindings(tree: ast.Module, text: str, found: dict[str, str]) -> None:
    """A cell's top-level statements into ``found``: a def's text by its name; any other binding
    removes the names it binds."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            found.pop(node.name, None)
            found[node.name] = "\n".join(text.splitlines()[start - 1:node.end_lineno]) + "\n"
        else:
            for name in statement_binds(node):
                found.pop(name, None)


@functools.lru_cache(maxsize=4096)
def _free_names(source: str) -> frozenset[str]:
    """Names a ``def``'s text reads that it does not bind itself (its globals, in a kernel): a
    frozenset, computed once per text (students' helpers are often alike)."""
    try:
        tree = ast.parse(source)
        bound, loaded = _bound_and_loaded(tree)
        for node in tree.body:  # the def's own name is a global inside it (a recursive call)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inside = _bound_and_loaded(ast.Module(body=node.body, type_ignores=[]))[0]
                if node.name not in inside | {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}:
                    bound.discard(node.name)
    except (SyntaxError, ValueError, RecursionError):
        return frozenset()
    return frozenset(loaded - bound)


def _source_stand_ins(sources: dict[str, str]) -> dict[str, types.FunctionType]:
    """{name: function object} for the student's defs ``sources`` ({name: text}): each one's
    ``inspect.getsource`` is its text (registered in linecache under a name of its own), and
    ``inspect.getclosurevars(...).globals`` names the stand-ins of the student functions its text
    reads. Their code is a stub that reads those names: the student's code is never compiled here."""
    import linecache
    import types
    stand_ins: dict[str, types.FunctionType] = {}
    namespaces: dict[str, dict[str, Any]] = {}
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


def _message(error: BaseException) -> str:
    """``str(error)``, or what can be said when that itself fails (a test's own message that
    cannot be built must not take the verdict with it)."""
    try:
        return str(error)
    except Exception as err:  # noqa: BLE001
        return f"(the test's message could not be built: {type(err).__name__})"


def _verdict(printed: str, error: BaseException | None) -> list[NotebookNode]:
    """A test cell's outputs: what the test printed (cut to MAX_TEST_STDOUT), then its error if
    it failed, as the exception's type and message only."""
    outputs = []
    text = valid_text(printed[:MAX_TEST_STDOUT])
    if text:
        outputs.append(new_output("stream", name="stdout", text=text))
    if error is not None:
        ename = type(error).__name__
        evalue = valid_text(_message(error))
        outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))
    return outputs


class TrustedTests:
    """The test cells of one notebook, run on the grader's side against one student kernel."""

    def __init__(self, setup_sources: Iterable[str], helpers_folder: str | Path | None, channel: KernelChannel,
                 timeout: float | None) -> None:
        self.channel, self.timeout = channel, timeout
        self.memory_bytes = GRADER_MEMORY_BYTES  # what this process may add while it judges one test
        self.sources: dict[str, str] = {}  # the student's defs by name (student_sources), for inspect.getsource
        # (the sources they were made from, the stand-ins)
        self._stand_ins_made: tuple[tuple[tuple[str, str], ...], dict[str, types.FunctionType]] | None = None
        self.namespace: dict[str, Any] = {"__name__": "__grading_tests__", "__builtins__": builtins}
        self.count = 0
        self.setup_errors: list[str] = []  # a set-up statement that fails costs the tests that need it, no more
        statements = [s for source in setup_sources for s in setup_statements(source)]
        helpers: contextlib.AbstractContextManager[None] = (
            _helpers_from(helpers_folder) if helpers_folder else contextlib.nullcontext())
        with helpers, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for statement in statements:
                try:
                    exec(compile(ast.Module(body=[statement], type_ignores=[]), "<set-up>", "exec"), self.namespace)
                except Exception as err:
                    self.setup_errors.append(f"{ast.unparse(statement)[:200]}: {type(err).__name__}: {err}")

    def run(self, source: str, deadline: float | None = None,
            channel: KernelChannel | None = None) -> list[NotebookNode]:
        """Outputs for one test cell: [] if it passed, else one error output (plus what the
        test itself printed). KernelDied and KernelHung propagate: the notebook stops there.
        ``channel``: the kernel this test's student names come from (default: the notebook's)."""
        self.count += 1
        deadline = deadline or time.monotonic() + (self.timeout or 60)
        printed = io.StringIO()
        channel = channel or self.channel
        channel.begin(deadline)
        error: BaseException | None = None
        scope: dict[str, Any] | None = None
        student: dict[str, Any] = {}
        try:
            code = _compiled_test(source)
            student = self._student_names(channel)
            scope = {k: v for k, v in self.namespace.items() if k not in channel.student_names}
            scope.update(student)
            channel.scope, channel.resolved = scope, student
            with bounded_memory(self.memory_bytes), contextlib.redirect_stdout(printed), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(code, scope)
        except (KernelDied, KernelHung):
            raise
        except BaseException as err:  # noqa: B036  (the verdict of any failure is the same: failed)
            error = err
        finally:
            self._finish(channel, scope, error)
        return _verdict(printed.getvalue(), error)

    def _student_names(self, channel: KernelChannel) -> dict[str, Any]:
        """{name: stand-in} of the student names (``channel.student_names``) the kernel has; a
        student function whose ``def`` is in the notebook carries that source for
        ``inspect.getsource``."""
        student = channel.describe()
        for name, value in student.items():
            if isinstance(value, StudentFunction) and name in self.sources:
                value.__wrapped__ = self._stand_ins()[name]  # type: ignore[attr-defined]  # (inspect follows it)
        return student

    def _stand_ins(self) -> dict[str, types.FunctionType]:
        """_source_stand_ins of the student's defs, made again only when they have changed."""
        key = tuple(self.sources.items())
        if self._stand_ins_made is None or self._stand_ins_made[0] != key:
            self._stand_ins_made = (key, _source_stand_ins(self.sources))
        return self._stand_ins_made[1]

    def _finish(self, channel: KernelChannel, scope: dict[str, Any] | None, error: BaseException | None) -> None:
        """After a test cell: keep what it bound, close the session. A kernel that died or hung
        while closing propagates, unless the test had already failed."""
        if scope is not None:
            self._keep(scope, channel.student_names)
        channel.scope = channel.resolved = None
        try:
            channel.end()
        except (KernelDied, KernelHung):
            if error is None:
                raise

    def _keep(self, scope: dict[str, Any], student_names: Collection[str]) -> None:
        """What the test cell bound stays for later test cells (as in a kernel, also when it
        failed). A student name is never kept, whatever the test bound to it: later tests look it
        up in the kernel again (a test that failed before putting back the student's ``mean``
        must not leave its reference in place for the next one, nor stand in for a function the
        student did not write)."""
        for name, value in scope.items():
            if name not in student_names:
                self.namespace[name] = value


@functools.lru_cache(maxsize=512)
def _compiled_test(source: str) -> types.CodeType:
    """A test cell's code, compiled once per grading process (every student has the same tests)."""
    return compile(ast.parse(source), "<test cell>", "exec")


# ----------------------------------------------------------------------------- tests that read source
@functools.lru_cache(maxsize=512)
def inspects_source(source: str) -> bool:
    """Whether a test cell reads the student's source (it imports ``inspect``)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "inspect" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "inspect":
            return True
    return False


def setup_modules(setup_sources: Iterable[str]) -> set[str]:
    """The top-level modules the instructor's set-up cells import (numpy, the helper modules):
    the only modules a student's import may bring into a source kernel."""
    modules: set[str] = set()
    for statement in (s for source in setup_sources for s in setup_statements(source)):
        if isinstance(statement, ast.Import):
            modules.update(a.name.split(".")[0] for a in statement.names)
        elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
            modules.add(statement.module.split(".")[0])
    return modules


def _carried(node: ast.stmt, modules: set[str]) -> bool:
    """Whether a top-level statement goes into a source kernel: a def, an import of ``modules``
    (no star), or names bound to a literal (``LR = 0.1``)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return True
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return _allowed_import(node, modules)
    return isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets) and _literal_value(node)


def _allowed_import(node: ast.Import | ast.ImportFrom, modules: set[str]) -> bool:
    if isinstance(node, ast.Import):
        return all(a.name.split(".")[0] in modules for a in node.names)
    return (node.level == 0 and (node.module or "").split(".")[0] in modules
            and all(a.name != "*" for a in node.names))


def _literal_value(node: ast.Assign) -> bool:
    try:
        ast.literal_eval(node.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def source_kernel_program(cells: Iterable[Cell], modules: set[str]) -> str:
    """The code a source-inspecting test's own kernel runs: for each name, its last top-level
    binding in ``cells`` if that is carried (``_carried``), in the order those ran; each statement
    run on its own, so one that fails (a decorator of something absent) leaves the rest."""
    final: dict[str, str] = {}
    for text, tree in parsed_code_cells(cells):
        lines = text.splitlines()
        for node in tree.body:
            names = statement_binds(node)
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            statement = "\n".join(lines[start - 1:node.end_lineno]) + "\n" if _carried(node, modules) else None
            for name in names:
                final.pop(name, None)
                if statement is not None:
                    final[name] = statement
    ordered = list(dict.fromkeys(final.values()))
    return ("for _grading_statement in " + repr(ordered) + ":\n"
            "    try:\n        exec(_grading_statement, globals())\n"
            "    except Exception:\n        pass\n"
            "del _grading_statement\n")


# ----------------------------------------------------------------------------- rules for test cells
# a place in a cell, (line, column), and a name read or bound there
Position = tuple[int, int]
Load = tuple[Position, str]

_COMPARING = {"array_equal", "allclose", "isclose", "array_equiv", "assert_allclose", "assert_array_equal",
              "assert_equal", "zip"}
_SCALAR_CALLS = {"int", "float", "bool", "round", "len", "str", "complex"}


def _compared_loads(tree: ast.AST) -> list[Load]:
    """(position, name) of every name read inside a comparison (``==``, ``np.array_equal``, ...)."""
    found: list[Load] = []
    for node in ast.walk(tree):
        parts: list[ast.expr] = []
        if isinstance(node, ast.Compare) and not all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
            parts = [node.left, *node.comparators]  # (an identity check reads no content)
        elif isinstance(node, ast.Call) and _call_name(node) in _COMPARING:
            parts = [*node.args, *(k.value for k in node.keywords)]
        for part in parts:
            found += _loads_outside_observing_calls(part)
    return found


def _loads_outside_observing_calls(node: ast.AST) -> list[Load]:
    """(position, name) of the names ``node`` reads, except inside ``changed_arguments(...)``
    (which runs its own call on copies)."""
    if isinstance(node, ast.Call) and _call_name(node) == "changed_arguments":
        return []
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        return [((node.lineno, node.col_offset), node.id)]
    return [found for child in ast.iter_child_nodes(node) for found in _loads_outside_observing_calls(child)]


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _is_scalar(node: ast.expr, known: Collection[str] = frozenset()) -> bool:
    """Whether an expression's value is certainly an immutable scalar (nothing to change in place);
    ``known``: names already known to hold one."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in known
    if isinstance(node, ast.UnaryOp):
        return _is_scalar(node.operand, known)
    if isinstance(node, ast.BinOp):
        return _is_scalar(node.left, known) and _is_scalar(node.right, known)
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _SCALAR_CALLS


def _bindings(tree: ast.AST) -> list[tuple[ast.expr, ast.expr | None]]:
    """(target, value expression) for every plain binding in ``tree`` (value None: not a plain
    value); a loop over ``range(...)`` or over a tuple or list of constants binds a scalar."""
    pairs: list[tuple[ast.expr, ast.expr | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            pairs += [pair for target in node.targets for pair in _assigned(target, node.value)]
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr)):
            pairs.append((node.target, None))
        elif isinstance(node, ast.For):
            scalar = _scalar_loop(node.iter) and isinstance(node.target, ast.Name)
            pairs.append((node.target, ast.Constant(0) if scalar else None))
    return pairs


def _assigned(target: ast.expr, value: ast.expr) -> list[tuple[ast.expr, ast.expr | None]]:
    """(target, value) pairs of one assignment target (a tuple unpacked from a tuple or generator)."""
    if isinstance(target, ast.Tuple) and isinstance(value, (ast.Tuple, ast.GeneratorExp)):
        values = value.elts if isinstance(value, ast.Tuple) else [value.elt] * len(target.elts)
        return list(zip(target.elts, values, strict=False))
    return [(target, value)]


def _scalar_loop(over: ast.expr) -> bool:
    if isinstance(over, ast.Call):
        return _call_name(over) == "range"
    return isinstance(over, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Constant) for e in over.elts)


def _scalar_names(tree: ast.AST) -> set[str]:
    """Names every binding of which in ``tree`` is a scalar (``_c = int(...)``, ``for _i in range(..)``)."""
    pairs = [(t, v, _stored_names(t)) for t, v in _bindings(tree)]
    stored = set().union(*(names for _, _, names in pairs))
    known: set[str] = set()
    while True:  # a name bound from scalar names is a scalar too: until nothing changes
        now = stored - set().union(*(names for t, v, names in pairs if not _scalar_binding(t, v, known)))
        if now == known:
            return known
        known = now


def _stored_names(target: ast.expr) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _scalar_binding(target: ast.expr, value: ast.expr | None, known: set[str]) -> bool:
    return isinstance(target, ast.Name) and value is not None and _is_scalar(value, known)


def reads_arguments_after_calls(source: str, student_names: Collection[str]) -> list[tuple[str, str, int]]:
    """[(function, argument, line)] where a test cell passes a name to a student function and
    later compares that name's object (what the call may have changed in place): the grader never
    writes a call's changes back, so such a check must use ``changed_arguments`` instead. A name
    only ever bound to scalars is left out (nothing in it can change)."""
    tree = ast.parse(source)
    stores = [((n.lineno, n.col_offset), n.id) for n in ast.walk(tree)
              if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)]
    compared, scalars = _compared_loads(tree), _scalar_names(tree)
    found: list[tuple[str, str, int]] = []
    for node in _student_calls(tree, student_names):
        end = (node.end_lineno or 0, node.end_col_offset or 0)  # (a parsed node has both)
        for name in _name_arguments(node) - scalars:
            later = _compared_after(compared, stores, name, end)
            if later:
                found.append((_call_name(node), name, later[0]))
    return sorted(found)


def _compared_after(compared: list[Load], stores: list[Load], name: str, end: Position) -> Position | None:
    """The first position after ``end`` where ``name`` is compared while still holding the same object."""
    later = [pos for pos, n in compared if n == name and pos > end and not _rebound(stores, name, end, pos)]
    return min(later) if later else None


def _student_calls(tree: ast.AST, student_names: Collection[str]) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
            and n.func.id in student_names]


def _rebound(stores: list[Load], name: str, start: Position, end: Position) -> bool:
    """Whether ``name`` is bound again between two positions of a cell."""
    return any(start < position < end and stored == name for position, stored in stores)


def _name_arguments(call: ast.Call) -> set[str]:
    """The names a call passes as arguments (``f(a, *b, k=c)``: a, b, c)."""
    args = [a.value if isinstance(a, ast.Starred) else a for a in call.args] + [k.value for k in call.keywords]
    return {a.id for a in args if isinstance(a, ast.Name)}
