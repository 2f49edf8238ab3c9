"""Two checks the notebooks' tests use. They work the same in your own kernel and when your work
is graded (then your functions run in a kernel of their own and these checks ask it).

- ``changed_arguments(f, *args)``: which arguments a call of ``f`` changed in place.
- ``python_loops(f)``: where ``f``, or a function of yours that it calls, runs Python code once
  per element (a loop, a comprehension, recursion, or a function handed to something that calls it
  per element). Whole-array operations are the only thing it accepts.
"""
import ast
import builtins
import copy
import inspect
import textwrap
import types

import numpy as np


def changed_arguments(function, *args, **kwargs):
    """Positions of the positional arguments that ``function(*args, **kwargs)`` changed in place
    (the call runs on copies: ``args`` themselves never change)."""
    observe = getattr(function, "changed_arguments", None)
    if observe is not None and not isinstance(function, types.FunctionType):
        return sorted(i for i in observe(*args, **kwargs) if isinstance(i, int))  # graded: asked of your kernel
    copies = [copy.deepcopy(a) for a in args]
    function(*copies, **copy.deepcopy(kwargs))
    return [i for i, (a, b) in enumerate(zip(args, copies)) if not _same(a, b)]


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a is b or a == b


# Built-ins a whole-array function may call: none of them calls a function per element.
WHOLE_ARRAY_BUILTINS = {"len", "float", "int", "bool", "abs", "round", "range", "tuple", "list", "isinstance",
                        "print", "ValueError", "TypeError", "AssertionError"}
_PER_ELEMENT_NODES = {ast.For: "a for loop", ast.AsyncFor: "a for loop", ast.While: "a while loop",
                      ast.comprehension: "a comprehension", ast.Lambda: "a lambda",
                      ast.Yield: "a generator", ast.YieldFrom: "a generator",
                      ast.FunctionDef: "a function defined inside", ast.AsyncFunctionDef: "a function defined inside",
                      ast.ClassDef: "a class defined inside", ast.Global: "a global statement",
                      ast.Nonlocal: "a nonlocal statement"}


def python_loops(function):
    """Descriptions of every place where ``function`` or a function of yours that it calls runs
    Python code per element; [] when it uses whole-array operations only. An allow-list: a call
    of anything but numpy, a method, a built-in of WHOLE_ARRAY_BUILTINS or a function of yours
    counts, and so does handing a function to any call."""
    found, seen, todo = [], set(), [(inspect.unwrap(function), "")]
    while todo:
        f, via = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        where = f.__name__ + via
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(f)))
        except (OSError, TypeError, SyntaxError):
            found.append(f"{where}: its source could not be read (define it with def in its answer cell)")
            continue
        mine = {n: g for n, g in inspect.getclosurevars(f).globals.items()
                if inspect.isfunction(g) and getattr(g, "__module__", None) == "__main__"}
        found += _loops_in(tree, where, mine)
        if f.__name__ in mine:
            found.append(f"{where} calls itself (recursion is a loop)")
        todo += [(g, f" (called by {where})") for g in mine.values()]
    return sorted(set(found))


def _loops_in(tree, where, mine):
    definition = tree.body[0] if tree.body and isinstance(tree.body[0], ast.FunctionDef) else None
    found = [f"a decorator on {where}"] if definition is not None and definition.decorator_list else []
    body = definition.body if definition is not None else tree.body
    for node in (n for statement in body for n in ast.walk(statement)):
        kind = next((text for cls, text in _PER_ELEMENT_NODES.items() if isinstance(node, cls)), None)
        if kind:
            found.append(f"{kind} in {where}")
        elif isinstance(node, ast.Call):
            found += _call_problems(node, where, mine)
    return found


def _call_problems(node, where, mine):
    problems = []
    if isinstance(node.func, ast.Name) and node.func.id not in mine and node.func.id not in WHOLE_ARRAY_BUILTINS:
        problems.append(f"{node.func.id}() in {where}, which a whole-array check cannot see into")
    elif not isinstance(node.func, (ast.Name, ast.Attribute)):
        problems.append(f"a call of a computed function in {where}")
    for arg in list(node.args) + [k.value for k in node.keywords]:
        if _is_function(arg, mine):
            problems.append(f"a function handed to a call in {where} (it runs once per element)")
    return problems


def _is_function(node, mine):
    """Whether an argument is a function (a name of yours, a built-in function, numpy's)."""
    if isinstance(node, ast.Starred):
        node = node.value
    if isinstance(node, ast.Name):
        value = mine.get(node.id, getattr(builtins, node.id, None))
        return callable(value) and not isinstance(value, type)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("np", "numpy"):
        value = getattr(np, node.attr, None)
        return callable(value) and not isinstance(value, type)
    return False
