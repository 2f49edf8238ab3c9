"""run_bounded (grading/step/bounded.py): the grader's own code in a forked child with a memory bound of
its own; results and exceptions come back, a child past its bound or its time fails cleanly and
the caller's memory stays where it was."""
import errno
import json
import mmap
import os
import signal
import time

import numpy as np
import psutil
import pytest

from grading.step.bounded import BoundedError, ChildDied, OutOfMemory, TimedOut, run_bounded

MiB = 1 << 20


def rss():
    return psutil.Process().memory_info().rss


def grow_until_refused(step=8 * MiB):
    """Map (and touch) new memory until refused; how much was had. (mmap: always new address
    space, where malloc may first reuse free memory the caller had mapped, which the bound does
    not count.)"""
    parts = []
    try:
        while True:
            parts.append(mmap.mmap(-1, step))
            parts[-1][::4096] = b"x" * len(range(0, step, 4096))
    except OSError as err:  # ENOMEM
        assert err.errno == errno.ENOMEM, err
        return len(parts) * step


def grow(step=8 * MiB):
    parts = []
    while True:  # MemoryError ends it
        parts.append(bytearray(step))
        parts[-1][::4096] = b"x" * len(range(0, step, 4096))


def spin():
    while True:
        pass


class Refused(Exception):
    def __init__(self, why, code):  # two arguments: rebuilt from its args in the caller
        super().__init__(why, code)


class Unpicklable(Exception):
    def __init__(self, handle):
        super().__init__("holds a lock")
        self.handle = handle

    def __reduce__(self):
        raise TypeError("not picklable")


def raise_unpicklable():
    import threading
    raise Unpicklable(threading.Lock())


def test_results_come_back_and_exceptions_are_raised_again():
    value = run_bounded(lambda a, b: {"sum": a + b, "array": np.arange(4) * b}, 2, 3,
                        memory_bytes=64 * MiB, timeout=10)
    assert value["sum"] == 5 and value["array"].tolist() == [0, 3, 6, 9]
    assert run_bounded(os.getpid, memory_bytes=MiB, timeout=10) != os.getpid()  # it ran elsewhere

    def judge(x):
        assert x == 1, f"expected 1, got {x}"
    with pytest.raises(AssertionError, match="expected 1, got 2") as caught:
        run_bounded(judge, 2, memory_bytes=64 * MiB, timeout=10)
    assert "judge" in caught.value.child_traceback
    with pytest.raises(Refused) as caught:
        run_bounded(lambda: (_ for _ in ()).throw(Refused("too deep", 7)), memory_bytes=64 * MiB, timeout=10)
    assert caught.value.args == ("too deep", 7)
    with pytest.raises(BoundedError, match="Unpicklable: holds a lock"):
        run_bounded(raise_unpicklable, memory_bytes=64 * MiB, timeout=10)


def test_a_child_past_its_memory_bound_fails_cleanly_and_the_caller_stays_small():
    before = rss()
    had = run_bounded(grow_until_refused, memory_bytes=256 * MiB, timeout=30)
    assert 200 * MiB <= had <= 256 * MiB, had / MiB  # the bound, not the machine, stopped it
    with pytest.raises(OutOfMemory, match="ran out of its memory bound"):
        run_bounded(grow, memory_bytes=128 * MiB, timeout=30)
    # the reply of the issue: 60 million characters that decode into 20 million lists
    reply = "[" + "[]," * 20_000_000 + "[]]"
    with pytest.raises(MemoryError):  # OutOfMemory is a MemoryError too
        run_bounded(json.loads, reply, memory_bytes=256 * MiB, timeout=60)
    del reply
    assert rss() - before < 32 * MiB, (rss() - before) / MiB
    assert run_bounded(len, "still works", memory_bytes=MiB, timeout=10) == 11


def test_the_bound_is_on_new_memory_whatever_the_caller_holds():
    ballast = bytearray(300 * MiB)  # the caller already maps more than the child's bound
    ballast[::4096] = b"x" * len(range(0, len(ballast), 4096))
    assert run_bounded(lambda: len(bytearray(100 * MiB)), memory_bytes=160 * MiB, timeout=30) == 100 * MiB
    with pytest.raises(OutOfMemory):
        run_bounded(lambda: len(bytearray(200 * MiB)), memory_bytes=160 * MiB, timeout=30)
    del ballast


def test_a_child_that_hangs_or_dies_is_named_and_reaped():
    me = psutil.Process()
    before = {p.pid for p in me.children()}  # (other tests' kernels may run beside this one)
    start = time.monotonic()
    with pytest.raises(TimedOut, match="no result within 0.5 s"):
        run_bounded(time.sleep, 30, memory_bytes=MiB, timeout=0.5)
    assert time.monotonic() - start < 5
    with pytest.raises(TimeoutError):  # a busy loop: the same
        run_bounded(spin, memory_bytes=64 * MiB, timeout=0.5)
    with pytest.raises(ChildDied, match="killed by SIGSEGV") as caught:
        run_bounded(lambda: os.kill(os.getpid(), signal.SIGSEGV), memory_bytes=MiB, timeout=10)
    assert caught.value.signal == signal.SIGSEGV
    with pytest.raises(ChildDied, match="exited with status 3") as caught:
        run_bounded(os._exit, 3, memory_bytes=MiB, timeout=10)
    assert caught.value.exit_code == 3
    assert [p for p in me.children() if p.status() == psutil.STATUS_ZOMBIE] == []
    assert not [p for p in me.children() if p.pid not in before]  # none left running


def test_a_large_result_comes_back_whole_and_a_bound_must_be_given():
    assert run_bounded(lambda: b"x" * (40 * MiB), memory_bytes=128 * MiB, timeout=30) == b"x" * (40 * MiB)
    with pytest.raises(ValueError):
        run_bounded(len, "x", memory_bytes=0, timeout=1)
    with pytest.raises(TypeError):  # the bounds are keyword-only, never taken for fn's arguments
        run_bounded(len, "x", 64 * MiB, 1)
