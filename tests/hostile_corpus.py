"""A corpus of hostile and broken submissions, each one attack or breakage, with its outcome.

Every student submits question 1 only (the other notebooks are missing and score 0 for all of
them alike). Two honest baselines are graded with them: ``honest_wrong`` (the same wrong-but-honest
answers the attackers start from) and ``reference``. "Blocked" attacks print ATTACK BLOCKED or
ATTACK SUCCEEDED into their graded copy, so a test can tell which happened.
"""
from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import nbformat

from grading import sample_class
from grading.cells import grade_id as _gid
from grading.cells import is_test_cell, nbgrader_metadata
from ml_conceptual.sample_class import Q1

# Honest but wrong answers: right shapes, wrong values (what the attackers would otherwise get).
WRONG = {
    "softmax": "def softmax(z):\n    return np.zeros_like(np.asarray(z, dtype=float))",
    "cross_entropy": "def cross_entropy(P, c):\n    return 0.0",
    "cross_entropy_from_logits": "def cross_entropy_from_logits(z, c):\n    return 0.0",
    "ce_grad_logits": "def ce_grad_logits(z, c):\n    return np.zeros_like(np.asarray(z, dtype=float))",
    "ce_grad_weights": "def ce_grad_weights(W, x, c):\n    return np.zeros_like(np.asarray(W, dtype=float))",
    "sgd_step": "def sgd_step(W, x, c, lr):\n    return np.array(W, dtype=float)",
    "numerical_gradient": "def numerical_gradient(f, W, eps=1e-5):\n    return np.zeros_like(np.asarray(W, dtype=float))",
}


def wrong_q1():
    nb = sample_class.solved_notebook(Q1)
    for cell in nb.cells:
        if _gid(cell) in WRONG:
            cell.source = WRONG[_gid(cell)]
    return nb


def with_code(nb, grade_id, code, where="after"):
    code = textwrap.dedent(code).strip("\n")
    for cell in nb.cells:
        if _gid(cell) == grade_id:
            cell.source = (cell.source + "\n" + code) if where == "after" else (code + "\n" + cell.source)
            return nb
    raise KeyError(grade_id)


def probe(action):
    """Code that prints whether a forbidden action worked."""
    return ("try:\n" + textwrap.indent(textwrap.dedent(action).strip("\n"), "    ") +
            "\n    print('ATTACK SUCCEEDED')\nexcept Exception as _e:\n"
            "    print('ATTACK BLOCKED:', type(_e).__name__)")


STEAL_AND_RUN = """
import json
nb = json.load(open({path!r}))
for cell in nb["cells"]:
    if cell["cell_type"] == "code" and "def " in "".join(cell["source"]):
        exec("".join(cell["source"]), globals())
"""

ALWAYS_TRUE = "lambda *a, **k: True"


@dataclass(frozen=True)
class Scores:
    """An entry's autograded points per grade_id beside the two baselines' (honest_wrong, reference)."""
    who: str  # the entry and its story, for the messages
    got: dict[str, float]
    honest: dict[str, float]
    reference: dict[str, float]
    submitted_ids: Callable[[], list[str]]  # the grade_ids of the entry's own q1, in its order


class Outcome:
    """What an entry's grades must be; ``check`` fails the test when they are not."""

    def check(self, s: Scores) -> None:
        raise NotImplementedError


class NoMoreThanHonest(Outcome):
    """No cell scores more than the same wrong answers without the attack."""

    def check(self, s: Scores) -> None:
        more = sorted(g for g in s.got if s.got[g] > s.honest[g])
        assert not more, f"{s.who} scored more than honest wrong work on {more}"


class Zero(Outcome):
    """Every cell scores 0 (a student error is named in the runner's output as well)."""

    def check(self, s: Scores) -> None:
        assert not any(s.got.values()), f"{s.who} must score 0, got {s.got}"


class Reference(Outcome):
    """Honest work in another form scores as the reference."""

    def check(self, s: Scores) -> None:
        assert s.got == s.reference, f"{s.who}: honest work in another form must score as the reference"


class NoMoreThanReference(Outcome):
    """Graded (some points), and no cell above the reference."""

    def check(self, s: Scores) -> None:
        more = {g for g in s.got if s.got[g] > s.reference[g]}
        assert not more and any(s.got.values()), f"{s.who}: graded, and never above the reference ({s.got})"


@dataclass(frozen=True)
class KilledAfter(Outcome):
    """The kernel dies in the answer cell ``grade_id``: the cells before it keep the reference's
    points, every cell after it scores 0."""
    grade_id: str

    def check(self, s: Scores) -> None:
        ids = s.submitted_ids()
        after = {g for g in s.got if ids.index(g) > ids.index(self.grade_id)}
        assert after and all(s.got[g] == 0 for g in after), f"{s.who}: cells after the kernel died must score 0"
        assert all(s.got[g] == s.reference[g] for g in set(s.got) - after), \
            f"{s.who}: cells before the kill keep their scores"


NO_MORE_THAN_HONEST, NO_MORE_THAN_REFERENCE, REFERENCE = NoMoreThanHonest(), NoMoreThanReference(), Reference()
ZERO = STUDENT_ERROR = Zero()  # a student error: also named by the runner (Hostile.message)


@dataclass
class Hostile:
    id: str
    story: str
    build: Callable[[], dict[str, str | bytes]]  # a missing q1 is simply absent
    outcome: Outcome
    blocked: bool = False  # its graded copy must say ATTACK BLOCKED and never ATTACK SUCCEEDED
    message: str = ""  # for student errors: what the runner's output must say about it
    graded_says: str = ""  # text its graded copy must contain (an error output of the grader's)


def _q1(nb):
    return {f"{Q1}.ipynb": nbformat.writes(nb)}


def corpus(port, elsewhere="/nonexistent"):
    """The hostile class. ``port``: a loopback port the test listens on (nothing may reach it);
    ``elsewhere``: another course on this machine, outside this one (nothing of it may be read)."""
    up = "../../../"  # from autograded/<student>/conceptual to the course root
    W = wrong_q1
    entries = [
        Hostile("read_source", "reads source/ and runs the instructor's solutions",
                lambda: _q1(with_code(W(), "numerical_gradient", probe(STEAL_AND_RUN.format(
                    path=up + f"source/conceptual/{Q1}.ipynb")))), NO_MORE_THAN_HONEST, blocked=True),
        Hostile("read_other_student", "reads another student's submission and runs it",
                lambda: _q1(with_code(W(), "numerical_gradient", probe(STEAL_AND_RUN.format(
                    path=up + f"submitted/reference/conceptual/{Q1}.ipynb")))), NO_MORE_THAN_HONEST, blocked=True),
        Hostile("write_gradebook", "writes full marks into the gradebook",
                lambda: _q1(with_code(W(), "numerical_gradient", probe(f"""
                    import sqlite3
                    db = sqlite3.connect({up + 'gradebook.db'!r})
                    db.execute("update grade set auto_score = 1000")
                    db.commit()
                    assert db.total_changes > 0
                    """))), NO_MORE_THAN_HONEST, blocked=True),
        Hostile("open_socket", "opens a socket to the grading machine",
                lambda: _q1(with_code(W(), "numerical_gradient", probe(f"""
                    import socket
                    s = socket.create_connection(("127.0.0.1", {port}), timeout=3)
                    s.sendall(b"stolen")
                    """))), NO_MORE_THAN_HONEST, blocked=True),
        Hostile("patch_numpy", "replaces np.allclose, isclose, array_equal, linalg.norm and np.testing",
                lambda: _q1(with_code(W(), "softmax", f"""
                    np.allclose = np.isclose = np.array_equal = {ALWAYS_TRUE}
                    np.linalg.norm = lambda *a, **k: 0.0
                    np.testing.assert_allclose = np.testing.assert_array_equal = lambda *a, **k: None
                    """)), NO_MORE_THAN_HONEST),
        Hostile("patch_builtins", "replaces abs, isinstance, max and float in builtins",
                lambda: _q1(with_code(W(), "softmax", f"""
                    import builtins
                    builtins.abs = lambda x: 0.0
                    builtins.isinstance = {ALWAYS_TRUE}
                    builtins.max = lambda *a, **k: 1.0
                    """)), NO_MORE_THAN_HONEST),
        Hostile("shadow_globals", "defines global np and abs that always agree",
                lambda: _q1(with_code(W(), "softmax", """
                    import numpy as _real_np
                    class _AgreeableNumpy:
                        def __getattr__(self, name):
                            if name in ("allclose", "isclose", "array_equal"):
                                return lambda *a, **k: True
                            return getattr(_real_np, name)
                    np = _AgreeableNumpy()
                    abs = lambda x: 0.0
                    """, where="after")), NO_MORE_THAN_HONEST),
        Hostile("patch_assertion_machinery", "swallows AssertionError in IPython and the traceback display",
                lambda: _q1(with_code(W(), "softmax", """
                    import sys
                    _ip = get_ipython()
                    _ip.set_custom_exc((AssertionError, Exception), lambda *a, **k: None)
                    _ip.showtraceback = lambda *a, **k: None
                    sys.excepthook = lambda *a: None
                    """)), NO_MORE_THAN_HONEST),
        Hostile("repatch_hook", "re-patches np.allclose in a hook before every cell",
                lambda: _q1(with_code(W(), "softmax", f"""
                    def _again(*a, **k):
                        np.allclose = np.isclose = {ALWAYS_TRUE}
                        np.linalg.norm = lambda *a, **k: 0.0
                    get_ipython().events.register("pre_run_cell", _again)
                    """)), NO_MORE_THAN_HONEST),
        Hostile("patch_then_raise", "patches np.allclose in a cell that then raises (the kernel skips its user expressions)",
                lambda: _q1(with_code(W(), "softmax", f"""
                    np.allclose = np.isclose = {ALWAYS_TRUE}
                    raise ValueError("on purpose")
                    """)), NO_MORE_THAN_HONEST),
        Hostile("strip_asserts_ast", "adds an AST transformer that deletes every assert before it runs",
                lambda: _q1(with_code(W(), "softmax", """
                    import ast as _ast
                    class _NoAsserts(_ast.NodeTransformer):
                        def visit_Assert(self, node):
                            return _ast.Pass()
                    get_ipython().ast_transformers.append(_NoAsserts())
                    """)), NO_MORE_THAN_HONEST),
        Hostile("blank_tests_input", "adds input transformers that turn any cell with an assert into pass",
                lambda: _q1(with_code(W(), "softmax", """
                    def _blank(lines):
                        return ["pass\\n"] if any("assert" in l for l in lines) else lines
                    get_ipython().input_transformers_cleanup.append(_blank)
                    get_ipython().input_transformers_post.append(_blank)
                    """)), NO_MORE_THAN_HONEST),
        Hostile("silence_user_expressions", "stops the kernel from evaluating anything beside a cell's code",
                lambda: _q1(with_code(W(), "softmax", f"""
                    type(get_ipython()).user_expressions = lambda self, expressions: {{}}
                    np.allclose = np.isclose = {ALWAYS_TRUE}
                    """)), NO_MORE_THAN_HONEST),
        Hostile("shadow_numpy_module", "submits a numpy.py whose allclose always agrees",
                lambda: {**_q1(W()), "numpy.py": textwrap.dedent("""
                    import importlib.machinery, importlib.util, sys
                    _spec = importlib.machinery.PathFinder.find_spec("numpy", [p for p in sys.path if p not in ("", ".")])
                    _real = importlib.util.module_from_spec(_spec)
                    sys.modules["numpy"] = _real
                    _spec.loader.exec_module(_real)
                    _real.allclose = _real.isclose = lambda *a, **k: True
                    _real.linalg.norm = lambda *a, **k: 0.0
                    """)}, NO_MORE_THAN_HONEST),
        Hostile("liar_objects", "returns objects that claim to equal anything",
                lambda: _q1(with_code(W(), "numerical_gradient", """
                    class Liar:
                        shape = property(lambda self: self._shape)
                        def __init__(self, shape=()): self._shape = shape
                        def __eq__(self, other): return True
                        __le__ = __lt__ = __ge__ = __gt__ = __eq__
                        def __sub__(self, other): return self
                        __rsub__ = __add__ = __radd__ = __mul__ = __rmul__ = __truediv__ = __sub__
                        def __abs__(self): return 0.0
                        def __float__(self): return 0.0
                        def __bool__(self): return True
                        def __getitem__(self, i): return self
                        def all(self): return True
                    def softmax(z): return Liar(np.shape(z))
                    def ce_grad_weights(W, x, c): return Liar(np.shape(W))
                    def cross_entropy(P, c): return Liar()
                    """)), NO_MORE_THAN_HONEST),
        # ---- verdicts forged from inside the kernel (tests no longer run there)
        Hostile("forge_error_replies", "rewrites the kernel's replies: errors become ok, error outputs vanish",
                lambda: _q1(with_code(W(), "softmax", """
                    _k = get_ipython().kernel
                    _send = _k.session.send
                    def _forged(stream, msg_or_type, content=None, *a, **kw):
                        kind = msg_or_type if isinstance(msg_or_type, str) else msg_or_type.get("msg_type")
                        if kind == "error":
                            return None
                        if isinstance(content, dict) and content.get("status") == "error":
                            content = {"status": "ok", "execution_count": content.get("execution_count"),
                                       "user_expressions": {}, "payload": []}
                        return _send(stream, msg_or_type, content, *a, **kw)
                    _k.session.send = _forged
                    """)), NO_MORE_THAN_HONEST),
        Hostile("trace_skips_asserts", "a sys.settrace tracer that jumps over every assert line",
                lambda: _q1(with_code(W(), "softmax", """
                    import sys, threading
                    def _skipper(frame, event, arg):
                        if event == "line":
                            import linecache
                            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
                            if line.strip().startswith("assert"):
                                try:
                                    frame.f_lineno = frame.f_lineno + 1
                                except ValueError:
                                    pass
                        return _skipper
                    sys.settrace(_skipper)
                    threading.settrace(_skipper)
                    """)), NO_MORE_THAN_HONEST),
        Hostile("audit_hook", "an audit hook (it cannot be removed) that re-patches np.allclose on every compile and exec",
                lambda: _q1(with_code(W(), "softmax", f"""
                    import sys
                    def _hook(event, args):
                        if event in ("compile", "exec"):
                            np.allclose = np.isclose = np.array_equal = {ALWAYS_TRUE}
                    sys.addaudithook(_hook)
                    """)), NO_MORE_THAN_HONEST),
        Hostile("hook_claims_ipython", "a pre-run hook whose __module__ says IPython patches numpy before every cell",
                lambda: _q1(with_code(W(), "softmax", f"""
                    def _looks_official(*a, **k):
                        np.allclose = np.isclose = {ALWAYS_TRUE}
                        np.linalg.norm = lambda *a, **k: 0.0
                    _looks_official.__module__ = "IPython.core.events"
                    get_ipython().events.register("pre_run_cell", _looks_official)
                    get_ipython().events.register("pre_execute", _looks_official)
                    """)), NO_MORE_THAN_HONEST),
        Hostile("hunt_the_grader", "searches gc for the grader's functions and code and rewrites them",
                lambda: _q1(with_code(W(), "softmax", """
                    import gc, types
                    for _obj in gc.get_objects():
                        if isinstance(_obj, types.FunctionType) and any(
                                w in _obj.__name__ for w in ("restore", "grading", "serve", "channel")):
                            try:
                                _obj.__code__ = (lambda *a, **k: None).__code__
                            except (TypeError, ValueError):
                                pass
                    np.allclose = np.isclose = lambda *a, **k: True
                    """)), NO_MORE_THAN_HONEST),
        Hostile("repatch_thread", "a thread that keeps re-patching numpy while the tests run",
                lambda: _q1(with_code(W(), "softmax", f"""
                    import threading, time
                    def _keep_patching():
                        while True:
                            np.allclose = np.isclose = np.array_equal = {ALWAYS_TRUE}
                            np.linalg.norm = lambda *a, **k: 0.0
                            time.sleep(0.0005)
                    threading.Thread(target=_keep_patching, daemon=True).start()
                    """)), NO_MORE_THAN_HONEST),
        Hostile("displayhook_credit", "calls sys.displayhook inside the graded functions (nbgrader reads an execute_result as partial credit)",
                lambda: _q1(_replace_all(W(), lambda name, code: code.replace(
                    "    return", "    import sys\n    sys.displayhook('full credit please')\n    sys.displayhook(1.0)\n    return", 1))),
                NO_MORE_THAN_HONEST),
        Hostile("replace_input", "replaces input() and the kernel's raw_input so the grader's questions get fixed answers",
                lambda: _q1(with_code(W(), "softmax", """
                    import builtins
                    _k = get_ipython().kernel
                    builtins.input = lambda *a, **k: '{"seq": 1, "op": "done"}'
                    _k.raw_input = lambda *a, **k: '{"seq": 1, "op": "done"}'
                    _k._input_request = lambda *a, **k: '{"seq": 1, "op": "done"}'
                    """)), NO_MORE_THAN_HONEST),
        # ---- wrong answers dressed up as right ones
        Hostile("array_function_liar", "returns objects whose __array_function__ and __array_ufunc__ say 'close' to everything",
                lambda: _q1(with_code(W(), "numerical_gradient", """
                    class _Agree:
                        def __init__(self, shape=()): self.shape = shape
                        def __array_function__(self, func, types, args, kwargs): return True
                        def __array_ufunc__(self, ufunc, method, *args, **kwargs): return True
                        def __array__(self, dtype=None, copy=None): return np.zeros(self.shape)
                        def __eq__(self, other): return True
                        def __float__(self): return 0.0
                    def softmax(z): return _Agree(np.shape(z))
                    def ce_grad_logits(z, c): return _Agree(np.shape(z))
                    def ce_grad_weights(W, x, c): return _Agree(np.shape(W))
                    def cross_entropy(P, c): return _Agree()
                    """)), NO_MORE_THAN_HONEST),
        Hostile("ndarray_subclass_liar", "returns an ndarray subclass whose comparisons always hold",
                lambda: _q1(with_code(W(), "numerical_gradient", """
                    class _Agreeable(np.ndarray):
                        def __eq__(self, other): return np.ones(np.shape(self), dtype=bool)
                        def __array_ufunc__(self, ufunc, method, *args, **kwargs): return np.True_
                        def __array_function__(self, func, types, args, kwargs): return True
                    def softmax(z): return np.zeros(np.shape(z)).view(_Agreeable)
                    def ce_grad_logits(z, c): return np.zeros(np.shape(z)).view(_Agreeable)
                    def ce_grad_weights(W, x, c): return np.zeros(np.shape(W)).view(_Agreeable)
                    """)), NO_MORE_THAN_HONEST),
        Hostile("peek_caller_frames", "reads expected values from the calling frames' locals and returns them",
                lambda: _q1(with_code(W(), "numerical_gradient", """
                    import sys
                    def _steal(default):
                        frame = sys._getframe(2)
                        while frame is not None:
                            for key in ("_exp", "expected", "_num", "_col"):
                                if key in frame.f_locals:
                                    return frame.f_locals[key]
                            frame = frame.f_back
                        return default
                    def softmax(z): return _steal(np.zeros(np.shape(z)))
                    def ce_grad_logits(z, c): return _steal(np.zeros(np.shape(z)))
                    def ce_grad_weights(W, x, c): return _steal(np.zeros(np.shape(W)))
                    def cross_entropy(P, c): return _steal(0.0)
                    """)), NO_MORE_THAN_HONEST),
        Hostile("private_numpy_and_code_swap", "patches numpy's private modules and swaps __code__ of public functions",
                lambda: _q1(with_code(W(), "softmax", """
                    import numpy._core.numeric as _numeric
                    _numeric.isclose = _numeric.allclose = _numeric.array_equal = lambda *a, **k: True
                    np.allclose.__code__ = (lambda a, b, rtol=1e-05, atol=1e-08, equal_nan=False: True).__code__
                    np.isclose.__code__ = (lambda a, b, rtol=1e-05, atol=1e-08, equal_nan=False: True).__code__
                    """)), NO_MORE_THAN_HONEST),
        Hostile("shadow_numpy_package", "submits a numpy/ package whose allclose always agrees",
                lambda: {**_q1(W()), "numpy/__init__.py": textwrap.dedent("""
                    import importlib.machinery, importlib.util, sys
                    _spec = importlib.machinery.PathFinder.find_spec("numpy", [p for p in sys.path if p not in ("", ".")])
                    _real = importlib.util.module_from_spec(_spec)
                    sys.modules["numpy"] = _real
                    _spec.loader.exec_module(_real)
                    _real.allclose = _real.isclose = _real.array_equal = lambda *a, **k: True
                    """)}, NO_MORE_THAN_HONEST),
        Hostile("returns_its_argument", "returns the arguments (the tests' own arrays) instead of computing",
                lambda: _q1(with_code(W(), "numerical_gradient", """
                    def softmax(z): return z
                    def ce_grad_logits(z, c): return z
                    def ce_grad_weights(W, x, c): return W
                    def sgd_step(W, x, c, lr): return W
                    def numerical_gradient(f, W, eps=1e-5): return W
                    """)), NO_MORE_THAN_HONEST),
        Hostile("raises_base_exceptions", "graded functions raise SystemExit, KeyboardInterrupt and GeneratorExit",
                lambda: _q1(with_code(W(), "numerical_gradient", """
                    def softmax(z): raise SystemExit(0)
                    def cross_entropy(P, c): raise KeyboardInterrupt
                    def ce_grad_logits(z, c): raise GeneratorExit
                    """)), NO_MORE_THAN_HONEST),
        Hostile("forges_channel_messages", "writes grader-looking messages with input() from inside a graded function",
                lambda: _q1(with_code(W(), "numerical_gradient", """
                    import json
                    def softmax(z):
                        for seq in range(1, 40):
                            try:
                                input(json.dumps({"seq": seq, "ok": {"value": 1.0, "same_as": None, "after": {}, "warnings": []}}))
                            except Exception:
                                pass
                        return np.zeros(np.shape(z))
                    """)), NO_MORE_THAN_HONEST),
        # ---- leaks of the hidden tests into what the student gets back
        Hostile("print_history", "prints IPython's input history and the test's source from a function the test calls",
                lambda: _q1(with_code(W(), "numerical_gradient", """
                    import sys, inspect
                    def softmax(z):
                        ip = get_ipython()
                        print("HISTORY", ip.user_ns.get("In", [])[-3:], ip.user_ns.get("_ih", [])[-3:])
                        frame = sys._getframe(1)
                        while frame is not None:
                            try:
                                print("SOURCE", inspect.getsource(frame))
                            except Exception:
                                print("FRAME", frame.f_code.co_filename, frame.f_code.co_name, list(frame.f_locals)[:20])
                            frame = frame.f_back
                        sys.stderr.write("STDERR from the test call\\n")
                        return np.zeros(np.shape(z))
                    """)), NO_MORE_THAN_HONEST),
        Hostile("warning_stacklevel", "warns with stacklevels that point at the caller's lines",
                lambda: _q1(with_code(W(), "numerical_gradient", """
                    import warnings
                    def softmax(z):
                        for level in range(1, 8):
                            warnings.warn(f"level {level}", UserWarning, stacklevel=level)
                            warnings.warn(f"runtime {level}", RuntimeWarning, stacklevel=level)
                        return np.zeros(np.shape(z))
                    """)), NO_MORE_THAN_HONEST),
        Hostile("record_and_replay", "records the arguments of every call, prints them in a cell after the tests",
                lambda: _q1(_add_cells(with_code(W(), "numerical_gradient", """
                    _seen = []
                    def softmax(z):
                        _seen.append(repr(z))
                        return np.zeros(np.shape(z))
                    """), "test_numerical_gradient_leaves_input_unchanged", ["print('SEEN', len(_seen), _seen[:3])"])),
                NO_MORE_THAN_HONEST),
        # ---- the grader kept working and lost nothing
        Hostile("guard_metadata_on_tests", "marks every test cell and answer cell with the grader's own metadata keys",
                lambda: _q1(_mark_cells(sample_class.solved_notebook(Q1), {"grading_guard": True, "grading": {"skip": True}})),
                REFERENCE),
        Hostile("hidden_marker_in_answer", "solves everything, with the hidden-test markers in comments of an answer",
                lambda: _q1(with_code(sample_class.solved_notebook(Q1), "softmax",
                                      "# ### BEGIN HIDDEN TESTS\n# nothing to see\n# ### END HIDDEN TESTS\n"
                                      "# ### BEGIN HIDDEN TESTS (unclosed)")), REFERENCE),
        Hostile("string_metadata", "solves everything; one answer cell's nbgrader metadata is a string",
                lambda: _q1(_metadata_to_string(sample_class.solved_notebook(Q1), "cross_entropy")),
                NO_MORE_THAN_REFERENCE, message=f"{Q1}.ipynb has cells whose nbgrader metadata is not readable"),
        Hostile("huge_single_line", "prints one 150 MB line and displays a 50 MB image",
                lambda: _q1(with_code(W(), "softmax", """
                    from IPython.display import display
                    print("x" * 150_000_000)
                    display({"image/png": "A" * 50_000_000}, raw=True)
                    """)), NO_MORE_THAN_HONEST),
        Hostile("sleepy_cells", "solves everything, then 30 cells that each sleep just under the cell timeout",
                lambda: _q1(_add_cells(sample_class.solved_notebook(Q1), "ce_grad_logits",
                                       ["import time\ntime.sleep(3.8)"] * 30)),
                NO_MORE_THAN_REFERENCE, graded_says="NotebookBudgetExceeded"),
        Hostile("read_other_course", "reads another course's source, gradebook and submissions elsewhere on the machine",
                lambda: _q1(with_code(W(), "numerical_gradient", probe(STEAL_AND_RUN.format(
                    path=f"{elsewhere}/source/conceptual/{Q1}.ipynb")) + "\n" + probe(f"""
                    import os
                    print(os.listdir({elsewhere!r}))
                    open({elsewhere + '/gradebook.db'!r}, 'rb').read(16)
                    """))), NO_MORE_THAN_HONEST, blocked=True),
        Hostile("list_the_machine", "walks /home, /root, /srv, /var/lib, /opt, /mnt looking for anything but Python",
                lambda: _q1(with_code(W(), "numerical_gradient", probe("""
                    import os, sys
                    python = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}
                    def allowed(path):
                        path = os.path.realpath(path)
                        return any(p == path or p.startswith(path + "/") or path.startswith(p + "/") for p in python)
                    found = []
                    for top in ("/home", "/root", "/srv", "/var/lib", "/opt", "/mnt", "/media"):
                        for folder, dirs, files in os.walk(top):
                            dirs[:] = [d for d in dirs if allowed(os.path.join(folder, d))
                                       and not os.path.realpath(os.path.join(folder, d)) in python]
                            found += [os.path.join(folder, n) for n in dirs + files if not allowed(os.path.join(folder, n))]
                    assert found, "nothing to see"
                    print("FOUND", found[:5])
                    """))), NO_MORE_THAN_HONEST, blocked=True),
        Hostile("sys_exit", "calls sys.exit in an answer cell",
                lambda: _q1(with_code(W(), "softmax", "import sys\nsys.exit(0)")), NO_MORE_THAN_HONEST),
        Hostile("os_exit", "defines correct functions, then os._exit kills the kernel",
                lambda: _q1(with_code(sample_class.solved_notebook(Q1), "ce_grad_weights", "import os\nos._exit(0)")),
                KilledAfter("ce_grad_weights")),
        Hostile("kill_kernel", "defines correct functions, then SIGKILLs its own kernel",
                lambda: _q1(with_code(sample_class.solved_notebook(Q1), "sgd_step",
                                      "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")),
                KilledAfter("sgd_step")),
        Hostile("endless_loop", "softmax never returns",
                lambda: _q1(with_code(W(), "softmax", "def softmax(z):\n    while True:\n        pass")),
                NO_MORE_THAN_HONEST),
        Hostile("memory_bomb", "allocates 50 GiB, in a cell and inside a graded function",
                lambda: _q1(with_code(with_code(W(), "softmax", "big = bytearray(50 * 2**30)"), "cross_entropy",
                                      "def cross_entropy(P, c):\n    return len([0.0] * 10**11)")),
                NO_MORE_THAN_HONEST),
        Hostile("fork_bomb", "forks without end",
                lambda: _q1(with_code(W(), "softmax", "import os\nwhile True:\n    os.fork()")), NO_MORE_THAN_HONEST),
        Hostile("huge_output", "prints millions of lines",
                lambda: _q1(with_code(W(), "softmax", "for i in range(3_000_000):\n    print(i, 'x' * 50)")),
                NO_MORE_THAN_HONEST),
        Hostile("huge_file", "writes a 1 GiB file",
                lambda: _q1(with_code(W(), "softmax", probe("""
                    with open("/tmp/huge.bin", "wb") as f:
                        for _ in range(1024):
                            f.write(b"0" * 2**20)
                    """))), NO_MORE_THAN_HONEST, blocked=True),
        Hostile("edits_test_cell", "empties a visible test cell",
                lambda: _q1(_edit_test(W(), "test_softmax_values", "pass")), NO_MORE_THAN_HONEST),
        Hostile("deletes_test_cells", "solves everything and deletes every test cell",
                lambda: _q1(_delete_tests(sample_class.solved_notebook(Q1))), ZERO),
        Hostile("changes_metadata", "raises points, clears grade flags, renames ids",
                lambda: _q1(_tamper_metadata(W())), NO_MORE_THAN_HONEST),
        Hostile("duplicates_grade_ids", "pastes an empty copy of a test cell before the real one",
                lambda: _q1(_duplicate_test(W(), "test_softmax_values")), NO_MORE_THAN_HONEST),
        Hostile("changes_cell_type", "turns a test cell into markdown",
                lambda: _q1(_to_markdown(W(), "test_softmax_large_logits")), NO_MORE_THAN_HONEST),
        # the grader believing what the kernel says (names, write-back, sizes, text)
        Hostile("claims_private_names", "defines the tests' private names, so a grader that asks the kernel "
                "which names are the student's would ship its expected values and reference functions",
                lambda: _q1(with_code(W(), "softmax", """
                    _exp = _num = _ref_softmax = _loss = _got = _z = _Z = _P = _e = _E = _k = _c = _rng = None
                    _own = _hint = _rel = _rows = _m = _y = _args = _changed = _before = None
                    """)), NO_MORE_THAN_HONEST),
        Hostile("steers_write_back", "a softmax that zeroes its input in place and returns what the "
                "zeroed input's softmax is, for a test that would read its input after the call",
                lambda: _q1(with_code(W(), "softmax", """
                    def softmax(z):
                        z = np.asarray(z)
                        z[...] = 0
                        return np.full(z.shape, 1.0 / z.shape[-1])
                    """)), NO_MORE_THAN_HONEST),
        Hostile("huge_reply", "answers the grader's request with a 60-million-character message",
                lambda: _q1(with_code(W(), "softmax", """
                    def softmax(z):
                        import builtins
                        builtins.input('{"seq": 1, "ok": {"value": "' + 'x' * 60_000_000 + '"}}')
                        return np.zeros_like(np.asarray(z, dtype=float))
                    """)), NO_MORE_THAN_HONEST),
        Hostile("lone_surrogate", "raises an exception whose message holds a lone surrogate (no file can hold it)",
                lambda: _q1(with_code(W(), "softmax", """
                    def softmax(z):
                        raise ValueError("bad \\ud800 text")
                    """)), NO_MORE_THAN_HONEST),
        Hostile("empty_notebook", "submits a notebook with no cells",
                lambda: {f"{Q1}.ipynb": nbformat.writes(nbformat.v4.new_notebook())}, ZERO),
        Hostile("not_json", "submits a file that is not JSON",
                lambda: {f"{Q1}.ipynb": "this is not a notebook"}, STUDENT_ERROR,
                message=f"{Q1}.ipynb could not be read as a notebook (it is not valid JSON)"),
        Hostile("old_nbformat", "submits the solution saved in notebook format 3",
                lambda: {f"{Q1}.ipynb": nbformat.writes(nbformat.convert(sample_class.solved_notebook(Q1), 3), version=3)},
                REFERENCE, message=f"{Q1}.ipynb is in the old notebook format 3 (converted to 4 and graded)"),
        Hostile("renamed", "submits q1 under another name",
                lambda: {f"{Q1} (1).ipynb": nbformat.writes(sample_class.solved_notebook(Q1))}, STUDENT_ERROR,
                message=f"{Q1}.ipynb is missing (scored 0) -- found {Q1} (1).ipynb instead"),
        Hostile("missing", "submits nothing for q1",
                lambda: {}, STUDENT_ERROR, message=f"{Q1}.ipynb is missing (scored 0)"),
    ]
    return entries


def _replace_all(nb, change):
    for cell in nb.cells:
        if _gid(cell) in WRONG:
            cell.source = change(_gid(cell), cell.source)
    return nb


def _mark_cells(nb, keys):
    for cell in nb.cells:
        if nbgrader_metadata(cell):
            cell.metadata.update(keys)
    return nb


def _metadata_to_string(nb, grade_id):
    next(c for c in nb.cells if _gid(c) == grade_id).metadata["nbgrader"] = "grade_id: " + grade_id
    return nb


def _add_cells(nb, after_grade_id, sources):
    i = next(i for i, c in enumerate(nb.cells) if _gid(c) == after_grade_id)
    nb.cells[i + 1:i + 1] = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def _edit_test(nb, grade_id, source):
    next(c for c in nb.cells if _gid(c) == grade_id).source = source
    return nb


def _delete_tests(nb):
    nb.cells = [c for c in nb.cells if not is_test_cell(c)]
    return nb


def _tamper_metadata(nb):
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})  # written to: the student's edits
        if is_test_cell(cell):
            meta["points"] = 100
        if _gid(cell) == "test_softmax_values":
            meta["grade"] = False
        if _gid(cell) == "test_softmax_batch":
            meta["grade_id"] = "renamed_by_student"
        if _gid(cell) == "softmax":
            meta.update(grade=True, points=50)
    return nb


def _duplicate_test(nb, grade_id):
    import copy
    i = next(i for i, c in enumerate(nb.cells) if _gid(c) == grade_id)
    fake = copy.deepcopy(nb.cells[i])
    fake.source = "pass"
    fake["id"] = "fake-copy"
    nb.cells.insert(i, fake)
    return nb


def _to_markdown(nb, grade_id):
    i = next(i for i, c in enumerate(nb.cells) if _gid(c) == grade_id)
    old = nb.cells[i]
    cell = nbformat.v4.new_markdown_cell(old.source, metadata=old.metadata)
    cell["id"] = old["id"]
    nb.cells[i] = cell
    return nb


def write(out_dir, port, elsewhere="/nonexistent"):
    """Write the corpus and the two baselines as submissions into out_dir."""
    from pathlib import Path
    students = {h.id: h.build() for h in corpus(port, elsewhere)}
    students["honest_wrong"] = _q1(wrong_q1())
    students["reference"] = _q1(sample_class.solved_notebook(Q1))
    for sid, files in students.items():
        folder = Path(out_dir) / sid / "conceptual"
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(content)
    return sorted(students)
