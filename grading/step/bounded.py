"""The grader's own code under a memory bound of its own: ``run_bounded(fn, *args, memory_bytes, timeout)``.

A grading worker decodes what a student's kernel sends and judges it, outside the kernel's cgroup:
a hostile reply (tens of millions of characters, a structure nested past the C stack) must not
take the worker's memory or the worker itself. ``run_bounded`` runs ``fn(*args)`` in a child
forked from the caller, with ``RLIMIT_AS`` set to the child's address space at the fork plus
``memory_bytes`` (so ``memory_bytes`` is what ``fn`` may map anew, whatever the caller already
had; memory the caller had mapped but left free, such as its allocator's free lists, may be
reused on top of it: measured, 56 MiB more in a test process that had run other tests), and
returns ``fn``'s result, pickled back through a pipe. Otherwise it raises:

- the exception ``fn`` raised, re-raised in the caller (same class and arguments; its
  ``child_traceback`` attribute holds the child's traceback as text). One that cannot be pickled
  comes back as ``BoundedError`` naming its type and message;
- ``OutOfMemory`` (a ``MemoryError``): ``fn`` ran out of its ``memory_bytes``;
- ``TimedOut`` (a ``TimeoutError``): no result within ``timeout`` seconds (the child is killed;
  ``RLIMIT_CPU`` at ``timeout`` + 1 s is a backstop should the caller die first);
- ``ChildDied``: the child ended without a result (a signal: SIGSEGV from a C stack overflow,
  SIGKILL from the out-of-memory killer, ...; its ``signal`` or ``exit_code`` says which);
- ``BoundedError`` for a result whose pickle is larger than ``memory_bytes`` (a defence: the child
  can hardly build one).

The caller's memory grows only by the result. The child is the out-of-memory killer's first
choice (``oom_score_adj`` 1000), its cyclic garbage collector leaves the caller's objects alone
(``gc.freeze``), and it ends with ``os._exit`` (no atexit handler, no buffered output of the
caller written twice).

Use it for the grader's own code only: the result travels as pickle, which is safe because the
child is a copy of the caller running the caller's code on data; never give it code or objects a
student wrote. The child has only the thread that called ``run_bounded`` (fork copies one): ``fn``
must not wait for another thread or a lock another thread held at the fork; plain computation on
its arguments (decoding bytes, comparing arrays) is what it is for. Linux only (fork, /proc).
Cost: one fork per call (``python -m bench bounded`` measures it).
"""
from __future__ import annotations

import faulthandler
import gc
import math
import os
import pickle
import resource
import select
import signal
import struct
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, Literal, NoReturn, TypeVar

__all__ = ["run_bounded", "BoundedError", "OutOfMemory", "TimedOut", "ChildDied"]

_MEMORY_EXIT = 71  # the child ran out of memory while building or sending its result
_FAILED_EXIT = 70  # the child failed outside fn (cannot happen but by a bug here)
_HEADER = struct.Struct("!Q")


T = TypeVar("T")


class BoundedError(RuntimeError):
    """The bounded child gave no result (the subclasses say why), or an unpicklable exception."""


class OutOfMemory(BoundedError, MemoryError):
    """The bounded child needed more than its ``memory_bytes``."""


class TimedOut(BoundedError, TimeoutError):
    """The bounded child gave no result within its ``timeout``."""


class ChildDied(BoundedError):
    """The bounded child ended without a result: ``signal`` (a number) or ``exit_code``."""

    def __init__(self, message: str, signal: int | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.signal, self.exit_code = signal, exit_code


def run_bounded(fn: Callable[..., T], *args: Any, memory_bytes: int, timeout: float) -> T:
    """``fn(*args)`` in a forked child whose new memory is bounded by ``memory_bytes`` and time by
    ``timeout`` seconds: its result, or its exception, or one of this module's errors (see the
    module's docstring)."""
    if memory_bytes <= 0 or timeout <= 0:
        raise ValueError("run_bounded: memory_bytes and timeout must be positive")
    for stream in (sys.stdout, sys.stderr):  # else the child inherits (and may write) them unflushed
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child(write_end, fn, args, memory_bytes, timeout)
    os.close(write_end)
    try:
        payload, problem = _collect(read_end, memory_bytes, time.monotonic() + timeout)
    finally:
        os.close(read_end)
    if problem is not None:
        _kill(pid)
    status = _reap(pid)
    if problem == "timeout":
        raise TimedOut(f"no result within {timeout} s: the bounded child was killed")
    if problem == "too large":
        raise BoundedError(f"the bounded child's result is larger than its memory bound ({memory_bytes} bytes)")
    if payload is None:
        raise _died(status, timeout)
    return _outcome(payload)


# ----------------------------------------------------------------------------- the child
def _address_space() -> int:
    """Bytes of address space this process has mapped (VmSize)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _set_bounds(memory_bytes: int, timeout: float) -> None:
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass
    gc.freeze()  # the caller's objects: never scanned or collected here
    faulthandler.disable()  # a crash is ChildDied in the caller, not a dump on its stderr
    limit = _address_space() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = math.ceil(timeout) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def _reply(fn: Callable[..., Any], args: tuple[Any, ...]) -> bytes:
    """(kind, value) to send back: ("ok", result), ("memory", None) or ("raised", details)."""
    try:
        return pickle.dumps(("ok", fn(*args)), protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        return pickle.dumps(("memory", None))
    except BaseException as err:  # noqa: BLE001 - every exception of fn goes back to the caller
        text = traceback.format_exc()
        try:
            blob = pickle.dumps(err, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.loads(blob)  # the caller must be able to rebuild it
        except Exception:  # noqa: BLE001
            blob = None
        return pickle.dumps(("raised", (blob, type(err).__qualname__, str(err), text)))


def _child(write_end: int, fn: Callable[..., Any], args: tuple[Any, ...], memory_bytes: int,
           timeout: float) -> NoReturn:
    code = _FAILED_EXIT
    try:
        _set_bounds(memory_bytes, timeout)
        try:
            data = _reply(fn, args)
        except MemoryError:  # pickling the result needed more than the bound
            code = _MEMORY_EXIT
            raise
        for part in (_HEADER.pack(len(data)), data):
            view = memoryview(part)
            while view:
                view = view[os.write(write_end, view):]
        code = 0
    except BaseException:  # noqa: BLE001 - the exit code tells the caller
        pass
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)


# ----------------------------------------------------------------------------- the caller
Problem = Literal["timeout", "too large"]  # why no reply was read


def _collect(read_end: int, memory_bytes: int, deadline: float) -> tuple[bytes | None, Problem | None]:
    """(the child's reply bytes or None, None | "timeout" | "too large")."""
    chunks: list[bytes] = []
    size = 0
    poller = select.poll()
    poller.register(read_end, select.POLLIN | select.POLLHUP)
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(left * 1000):
            return None, "timeout"
        chunk = os.read(read_end, 1 << 20)
        if not chunk:
            return _unframe(b"".join(chunks)), None
        chunks.append(chunk)
        size += len(chunk)
        if size > _HEADER.size + memory_bytes:
            return None, "too large"


def _unframe(data: bytes) -> bytes | None:
    """The reply in ``data`` (its length, then itself), or None where it was cut short."""
    if len(data) < _HEADER.size:
        return None
    expected = _HEADER.unpack(data[:_HEADER.size])[0]
    return data[_HEADER.size:] if len(data) == _HEADER.size + expected else None


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> int:
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue


def _died(status: int, timeout: float) -> BoundedError:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number == signal.SIGXCPU:
            return TimedOut(f"the bounded child used more than {math.ceil(timeout) + 1} s of CPU")
        name = signal.Signals(number).name
        hint = " (the out-of-memory killer?)" if number == signal.SIGKILL else ""
        return ChildDied(f"the bounded child was killed by {name}{hint}", signal=number)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    if code == _MEMORY_EXIT:
        return OutOfMemory("the bounded child ran out of memory while sending its result")
    return ChildDied(f"the bounded child exited with status {code} without a result", exit_code=code)


def _outcome(payload: bytes) -> Any:
    kind, value = pickle.loads(payload)
    if kind == "ok":
        return value
    if kind == "memory":
        raise OutOfMemory("the bounded child ran out of its memory bound")
    blob, name, message, text = value
    err: Any = pickle.loads(blob) if blob is not None else BoundedError(f"{name}: {message}")
    try:
        err.child_traceback = text
    except AttributeError:  # an exception class with __slots__
        pass
    raise err
