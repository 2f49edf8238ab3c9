"""The plain-data channel (grading/step/channel.py) against a real kernel, and its strict decoder."""
import ast
import base64
import time
import warnings

import numpy as np
import pytest

from grading.step import channel as ch
from grading.step.verdicts import TrustedTests

STUDENT = '''
import numpy as np
def double(x):
    return 2 * np.asarray(x)
def in_place(a, lst):
    a[0] = 99.0
    lst.append("more")
    return None
def same(a):
    return a
def calls_back(f, x):
    return [f(x), f(x + 1)]
def passes_on(g, x):
    return g(x)
def raises_value(x):
    raise ValueError("bad " + str(x))
def raises_own():
    class Mine(Exception):
        pass
    raise Mine("mine")
def warns():
    import warnings
    warnings.warn("careful", RuntimeWarning)
    return 1.0
def overflow():
    return np.exp(np.array([1000.0]))
def loops():
    while True:
        pass
def returns_object():
    class Liar:
        def __eq__(self, other): return True
    return Liar()
def returns_subclass():
    class Sub(np.ndarray):
        def __eq__(self, other): return True
    return np.zeros(3).view(Sub)
def prints():
    print("SECRET-LOOKING OUTPUT")
    return 3
def kinds():
    return (1, 2.5, True, None, "s", [1, (2, 3)], {"k": np.float32(1.5)}, np.int64(7), 1 + 2j, np.bool_(True))
CONSTANT = 42
FLAG = np.bool_(False)
OBJECT = object()
'''
# the names the instructor's solution cells bind (here: every def and constant above, plus names
# later tests define in the kernel, and one the kernel never has)
STUDENT_NAMES = {n for n in ast.parse(STUDENT).body for n in
                 ([n.name] if isinstance(n, ast.FunctionDef) else [t.id for t in getattr(n, "targets", [])])} | {
    "inner", "outer", "looped", "rows", "fast", "again", "missing"}


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    from jupyter_client.manager import KernelManager
    folder = tmp_path_factory.mktemp("kernel")
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(folder / "ipc"))
    km.start_kernel(extra_arguments=["--HistoryManager.hist_file=:memory:"])
    client = km.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    reply = client.execute_interactive(STUDENT, timeout=60)
    assert reply["content"]["status"] == "ok"
    channel_client = ch.channel_client(km.connection_file)
    names = {n for n in STUDENT_NAMES}
    channel = ch.KernelChannel(channel_client, lambda: km.is_alive(), names)
    km.student_runs = lambda code: client.execute_interactive(code, timeout=60)
    yield km, channel
    channel.close()
    client.stop_channels()
    km.shutdown_kernel(now=True)


def session(channel, seconds=10):
    channel.begin(time.monotonic() + seconds)
    return channel


def test_calls_and_plain_data_round_trip(kernel):
    km, channel = kernel
    session(channel)
    try:
        found = channel.describe()
        assert isinstance(found["double"], ch.StudentFunction)
        assert found["CONSTANT"] == 42 and type(found["CONSTANT"]) is int
        assert type(found["FLAG"]) is np.bool_ and not found["FLAG"]
        assert isinstance(found["OBJECT"], ch.Unreadable) and "missing" not in found
        got = found["double"](np.arange(3.0))
        assert isinstance(got, np.ndarray) and got.tolist() == [0.0, 2.0, 4.0] and got.flags.writeable
        kinds = channel.call("kinds", (), {})
        assert kinds[:5] == (1, 2.5, True, None, "s") and kinds[5] == [1, (2, 3)]
        assert type(kinds[6]["k"]) is np.float32 and kinds[6]["k"] == 1.5
        assert type(kinds[7]) is np.int64 and kinds[8] == 1 + 2j and type(kinds[9]) is np.bool_
    finally:
        channel.end()


def test_in_place_changes_stay_in_the_kernel_and_are_seen_only_when_asked(kernel):
    _, channel = kernel
    session(channel)
    try:
        a, lst = np.zeros(3), ["x"]
        assert channel.call("in_place", (a, lst), {}) is None
        assert a.tolist() == [0.0, 0.0, 0.0] and lst == ["x"]  # nothing written back into the test's objects
        assert ch.StudentFunction("in_place", channel).changed_arguments(a, lst) == [0, 1]
        assert ch.StudentFunction("double", channel).changed_arguments(a) == []
        assert a.tolist() == [0.0, 0.0, 0.0] and lst == ["x"]
        b = np.ones(2)
        assert channel.call("same", (b,), {}) is b  # returned unchanged: the test's own object
    finally:
        channel.end()


def test_callbacks_run_on_the_grader_side(kernel):
    _, channel = kernel
    seen = []

    def trusted(v):
        seen.append(v)
        return v * 10
    session(channel)
    try:
        assert channel.call("calls_back", (trusted, 1.5), {}) == [15.0, 25.0]
        assert seen == [1.5, 2.5]
        double = ch.StudentFunction("double", channel)  # a student function passed on runs there
        assert channel.call("passes_on", (double, 4), {}) == 8
        # a test's function that calls the student's code in turn (a loss built on the student's
        # function, handed to the student's numerical gradient), nested twice
        assert channel.call("calls_back", (lambda v: float(double(v)) + 1, 1.5), {}) == [4.0, 6.0]
        inner = ch.StudentFunction("calls_back", channel)
        assert channel.call("calls_back", (lambda v: inner(lambda w: w * 3, v)[1], 1.0), {}) == [6.0, 9.0]
        assert channel.call("double", (5,), {}) == 10  # and the session goes on
    finally:
        channel.end()


def test_errors_keep_builtin_types_and_others_are_student_errors(kernel):
    _, channel = kernel
    session(channel)
    try:
        with pytest.raises(ValueError, match="bad 3"):
            channel.call("raises_value", (3,), {})
        with pytest.raises(ch.StudentError, match="Mine: mine"):
            channel.call("raises_own", (), {})
        with pytest.raises(TypeError, match="not plain data|returned a Liar"):
            channel.call("returns_object", (), {})
        got = channel.call("returns_subclass", (), {})
        assert type(got) is np.ndarray and got.tolist() == [0.0, 0.0, 0.0]
    finally:
        channel.end()


def test_warnings_and_errstate_reach_the_test(kernel):
    _, channel = kernel
    session(channel)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(RuntimeWarning, match="careful"):
                channel.call("warns", (), {})
        with np.errstate(over="raise"):
            with pytest.raises(FloatingPointError):
                channel.call("overflow", (), {})
    finally:
        channel.end()


def test_a_function_that_never_returns_is_stopped_and_the_kernel_lives_on(kernel):
    km, channel = kernel
    start = time.monotonic()
    session(channel, seconds=1.5)
    try:
        with pytest.raises(TimeoutError):
            channel.call("loops", (), {})
        with pytest.raises(TimeoutError):  # the rest of that test fails at once
            channel.call("double", (1,), {})
    finally:
        channel.end()
    assert time.monotonic() - start < 1.5 + ch.INTERRUPT_GRACE
    session(channel)
    try:
        assert channel.call("double", (2,), {}) == 4
    finally:
        channel.end()


def test_trusted_tests_see_no_student_output_and_give_verdicts(kernel, tmp_path):
    _, channel = kernel
    tests = TrustedTests(["import numpy as np\nnp.set_printoptions(precision=3)"], tmp_path, channel, 10)
    passed = tests.run("assert prints() == 3\nprint('from the test')\n")
    assert passed == [{"output_type": "stream", "name": "stdout", "text": "from the test\n"}]
    failed = tests.run("x = double([1.0])\nassert np.allclose(x, [3.0]), f'expected [3], got {x}'\n")
    assert [o["output_type"] for o in failed] == ["error"]
    assert failed[0]["ename"] == "AssertionError" and failed[0]["evalue"] == "expected [3], got [2.]"
    assert failed[0]["traceback"] == ["AssertionError: expected [3], got [2.]"]  # no line of the test
    # a name the test bound stays for later tests; the student's do not shadow builtins or np
    assert tests.run("helper = 5\nassert isinstance(CONSTANT, int) and abs(-1) == 1") == []
    assert tests.run("assert helper == 5") == []


@pytest.mark.parametrize("data", [
    {"a": {"dtype": "|O", "shape": [1], "b64": ""}},  # object arrays are not plain data
    {"a": {"dtype": "<f8", "shape": [2], "b64": base64.b64encode(b"\0" * 8).decode()}},  # short
    {"a": {"dtype": "<f8", "shape": [-1], "b64": ""}},
    {"p": "pickle"}, {"t": [1], "d": []}, {"d": [[[1], 2]]}, {"s": {"dtype": "<U4", "b64": ""}},
    {"fn": "softmax"},  # without a channel there is no student function to stand for
])
def test_decoder_refuses_anything_but_plain_data(data):
    with pytest.raises(ValueError):
        ch.decode(data)


def test_decoder_builds_fresh_arrays():
    raw = np.arange(4.0).tobytes()
    got = ch.decode({"a": {"dtype": "<f8", "shape": [2, 2], "b64": base64.b64encode(raw).decode()}})
    assert got.shape == (2, 2) and got.flags.writeable and got[1, 1] == 3.0


def test_the_serve_function_replaced_by_student_code_is_defined_again(kernel):
    km, channel = kernel
    session(channel)
    try:
        assert channel.call("double", (1,), {}) == 2
    finally:
        channel.end()
    for replacement in ("lambda: None", "None"):  # does nothing; is not even callable
        km.student_runs(f"for _k in [k for k in globals() if k.startswith('_grading_channel')]:\n"
                        f"    globals()[_k] = {replacement}\n")
        session(channel)
        try:
            assert channel.call("double", (5,), {}) == 10
        finally:
            channel.end()


def test_a_name_the_test_rebinds_is_rebound_for_the_call_only(kernel, tmp_path):
    km, channel = kernel
    km.student_runs("def inner(x):\n    return x + 1\ndef outer(x):\n    return inner(x) * 10\n")
    tests = TrustedTests([], tmp_path, channel, 10)
    assert tests.run("assert outer(1) == 20") == []
    source = ("_saved = inner\ninner = lambda x: x + 100\ntry:\n    _got = outer(1)\nfinally:\n    inner = _saved\n"
              "assert _got == 1010, _got\nassert outer(1) == 20\n")
    assert tests.run(source) == []
    assert tests.run("assert inner(1) == 2") == []  # the kernel's own inner is back


def test_a_test_that_fails_before_putting_a_name_back_leaves_nothing_behind(kernel, tmp_path):
    km, channel = kernel
    km.student_runs("def inner(x):\n    return x + 1\ndef outer(x):\n    return inner(x) * 10\n")
    tests = TrustedTests([], tmp_path, channel, 10)
    failed = tests.run("_own = inner\ninner = lambda x: 0\nassert False, 'before putting it back'\ninner = _own\n")
    assert failed[0]["evalue"] == "before putting it back"
    assert tests.run("assert outer(1) == 20, outer(1)") == []  # the student's inner again
    assert tests.run("assert _own(1) == 2") == []  # what the failed test bound otherwise stays


def test_a_test_reads_the_students_source_from_the_notebook_never_from_the_kernel(kernel, tmp_path):
    import nbformat.v4 as v4

    from grading.step.verdicts import student_sources
    km, channel = kernel
    km.student_runs("def looped(xs):\n    return [x for x in xs]\n")
    cells = [v4.new_code_cell("def looped(xs):\n    # honest\n    return list(xs)\n"),
             v4.new_code_cell("%matplotlib inline\ndef helper():\n    pass\nhelper = 3\n")]
    sources = student_sources(cells)
    assert sources == {"looped": "def looped(xs):\n    # honest\n    return list(xs)\n"}  # helper rebound
    tests = TrustedTests([], tmp_path, channel, 10)
    tests.sources = sources
    check = "import inspect\nsrc = inspect.getsource(looped)\nassert 'for' not in src and 'honest' in src, src\n"
    assert tests.run(check) == []
    tests.sources = {}
    failed = tests.run("import inspect\ninspect.getsource(looped)\n")
    assert failed and failed[-1]["ename"] in ("OSError", "TypeError")


def test_a_test_follows_the_students_helpers_through_getclosurevars(kernel, tmp_path):
    import nbformat.v4 as v4

    from grading.step.verdicts import student_sources
    km, channel = kernel
    code = ("def rows(X):\n    return [x * 2 for x in X]\n"
            "def fast(X):\n    return np.asarray(rows(X))\n"
            "def again(n):\n    return 0 if n == 0 else again(n - 1)\n")
    km.student_runs("import numpy as np\n" + code)
    tests = TrustedTests([], tmp_path, channel, 10)
    tests.sources = student_sources([v4.new_code_cell(code)])
    follow = ("import inspect\nf = inspect.unwrap(fast)\ncalls = inspect.getclosurevars(f).globals\n"
              "assert set(calls) == {'rows'}, calls\nassert inspect.isfunction(calls['rows']), 1\n"
              "assert calls['rows'].__module__ == '__main__', calls['rows'].__module__\n"
              "assert 'for x in X' in inspect.getsource(calls['rows']), 3\n"
              "assert 'rows(X)' in inspect.getsource(f), 4\n"
              "g = inspect.unwrap(again)\nassert set(inspect.getclosurevars(g).globals) == {'again'}, 5\n"
              "assert inspect.getclosurevars(inspect.unwrap(rows)).globals == {}, 6\n")
    assert tests.run(follow) == []
    assert tests.run("assert fast([1, 2]).tolist() == [2, 4]") == []  # still the kernel's function


def test_only_the_instructors_student_names_cross_and_nothing_of_the_test(kernel, tmp_path):
    km, channel = kernel
    # a test's private names, defined by the student
    km.student_runs("_exp = np.zeros(3)\n_ref = lambda z: 0\n_num = 7\n")
    sent, opened = [], []
    original, original_execute = channel._send, channel.client.execute
    channel._send = lambda text: (sent.append(text), original(text))[1]
    # the request that opens a session: the kernel side's (public) source, then the call that starts it
    channel.client.execute = lambda code, **kw: (opened.append(code.strip().splitlines()[-1]),
                                                 original_execute(code, **kw))[1]
    try:
        tests = TrustedTests([], tmp_path, channel, 10)
        source = ("_exp = np.array([2.0, 4.0])\n_num = 11\ndef _ref(z):\n    return 2 * z\n"
                  "_got = double(np.array([1.0, 2.0]))\nassert np.allclose(_got, _exp), _got\nassert _num == 11\n"
                  "_SECRET_MARKER_ = 'expected-value-31337'\n")
        assert tests.run("import numpy as np\n" + source) == []
    finally:
        channel._send, channel.client.execute = original, original_execute
    text = "\n".join(sent + opened)
    assert "_exp" not in text and "_num" not in text and "_ref" not in text and "31337" not in text
    import ast as _ast
    described = [_ast.literal_eval(_ast.parse(call).body[0].value.args[2]) for call in opened]
    assert described and all(set(d) == STUDENT_NAMES for d in described), opened


def json_loads(text):
    import json
    return json.loads(text)


def test_a_student_name_rebound_to_a_value_is_never_sent(kernel, tmp_path):
    km, channel = kernel
    km.student_runs("def inner(x):\n    return x + 1\ndef outer(x):\n    return inner(x) * 10\n")
    tests = TrustedTests([], tmp_path, channel, 10)
    failed = tests.run("inner = [1, 2, 3]\nouter(1)\n")
    assert failed[-1]["ename"] == "TypeError" and "only a function" in failed[-1]["evalue"]
    assert tests.run("assert outer(1) == 20") == []


def test_replies_over_budget_are_refused_and_the_channel_lives_on(kernel):
    km, channel = kernel
    # about 4 MB: over this call's budget, under the frame size past which the kernel is cut off
    km.student_runs("def big():\n    return list(range(500_000))\n"
                    "def surrogate():\n    raise ValueError('bad \\ud800 text')\n")
    channel.student_names = channel.student_names | {"big", "surrogate"}
    session(channel)
    try:
        with pytest.raises(ch.ReplyRefused):
            channel.call("big", (), {})
        with pytest.raises(ValueError) as raised:
            channel.call("surrogate", (), {})
        str(raised.value).encode("utf-8")  # valid: a graded notebook can hold it
        assert "\ufffd" in str(raised.value)
        assert channel.call("double", (3,), {}) == 6
    finally:
        channel.end()


def test_the_budget_is_counted_before_parsing():
    assert ch.too_many_nodes("[" + ",".join(["1"] * 10) + "]", limit=5)
    assert not ch.too_many_nodes('{"seq": 1, "ok": [1, 2]}', limit=5)
    assert ch.reply_limit(10) < ch.reply_limit(10_000_000) == ch.MAX_MESSAGE
    with pytest.raises(ch.ReplyRefused):
        ch._message_for("x" * 101, 1, limit=100)
    assert ch.decode("a\ud800b") == "a\ufffdb"


def test_a_connection_without_the_sessions_token_is_dropped(kernel):
    import socket
    _, channel = kernel
    session(channel)
    assert channel.call("double", (1,), {}) == 2  # the channel's socket exists from here on
    channel.end()
    impostors = []
    # another local account reaching the socket first: a wrong token, none at all, a forged reply
    for text in (b"0123456789abcdef0123456789abcdef\n", b"", b'{"seq": 0, "ready": true, "described": {}}\n'):
        impostor = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        impostor.connect(channel.socket.path)
        impostor.sendall(text)
        impostors.append(impostor)
    session(channel)
    try:
        assert channel.call("double", (21,), {}) == 42  # the kernel's own answer, not an impostor's
        assert channel.describe()["double"].__name__ == "double"
    finally:
        channel.end()
        for impostor in impostors:
            impostor.close()


def test_the_socket_never_holds_more_than_the_budget_and_skips_a_long_line():
    import socket
    ours, theirs = socket.socketpair()
    lines = ch._Lines(ours)
    try:
        theirs.sendall(b'{"seq": 1}\n')
        lines.feed(limit=1000)
        assert lines.next() == '{"seq": 1}' and lines.next() is None
        theirs.sendall(b"x" * 5000)  # a line that goes on and on
        with pytest.raises(ch.ReplyRefused):
            lines.feed(limit=1000)
        assert lines.buffer == bytearray() and lines.skipping
        theirs.sendall(b"y" * 3000 + b'\n{"seq": 2}\n')  # the rest of the long line, then a good one
        while b"\n" not in lines.buffer:
            lines.feed(limit=1000)
        assert lines.next() == '{"seq": 2}' and lines.next() is None
        theirs.sendall(b"\xff\xfe not UTF-8\n")  # bytes that are not text arrive as text all the same
        lines.feed(limit=1000)
        assert lines.next() == "\ufffd\ufffd not UTF-8"
        theirs.close()
        with pytest.raises(ch.ChannelClosed):
            lines.feed(limit=1000)
    finally:
        ours.close()


def test_a_test_that_would_take_the_graders_memory_fails_alone(kernel, tmp_path):
    import resource
    _, channel = kernel
    before = resource.getrlimit(resource.RLIMIT_AS)
    tests = TrustedTests(["import numpy as np"], tmp_path, channel, 10)
    tests.memory_bytes = 512 * 2**20
    failed = tests.run("big = np.ones((2**16, 2**14))\nassert big.sum() > 0\n")  # 8 GiB
    assert failed[-1]["ename"] == "MemoryError"
    assert resource.getrlimit(resource.RLIMIT_AS) == before  # put back
    assert tests.run("assert double(2) == 4") == []


def test_a_students_exception_names_the_call_and_its_shapes(kernel):
    _, channel = kernel
    session(channel)
    try:
        with pytest.raises(ValueError, match=r"in raises_value\(array of shape \(2, 3\)\): bad"):
            channel.call("raises_value", (np.zeros((2, 3)),), {})
        with pytest.raises(TypeError, match=r"in double\(x=list of length 2, y=1\)"):
            channel.call("double", (), {"x": [1, 2], "y": 1})
    finally:
        channel.end()
