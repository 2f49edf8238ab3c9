"""The grader's end of the plain-data channel to a student's kernel.

Test code runs in the grading worker, never in the student's kernel (grading/step/verdicts.py). It
reaches the student's functions through this channel: for each test cell the grader asks the
kernel, in one silent execute request, to run grading/step/channel_kernel.py, which connects to a
unix socket of the grader's (in a sandboxed kernel's own ``sock`` folder, which it sees at the
same path), presents the one-time token that request carried (anyone else who connects is
dropped) and then exchanges one JSON line per message each way. A round trip costs what a
socket costs: no Jupyter message, signature or ``input()`` prompt per call. The messages:

- the kernel's first: for the notebook's student names (the names its solution cells bind,
  decided from the instructor's copy, the same list for every test: nothing of a test's text),
  whether the kernel has them, and if so whether each is callable (a student function) or a
  value (sent as plain data);
- ``call``: call a student function with plain-data arguments; the answer is the return value,
  whether it returned one of its arguments, the warnings it raised (re-raised on the grader's
  side, so ``warnings.catch_warnings`` in a test works) and, only when the test asks for it
  (``StudentFunction.changed_arguments``), which arguments it changed in place. A trusted function
  passed as an argument (a callback such as ``lambda w: 2 * w``) stays here: the kernel gets a
  stub that asks the grader to run it, with plain data both ways. A student name the test has
  rebound to a trusted function is rebound in the kernel for the call (as a callback); nothing
  else a test binds or computes is ever sent to the kernel;
- ``done``: the test cell is over; the kernel's end returns and its execute request replies.

At the test's time limit the kernel is interrupted (the call in progress raises
KeyboardInterrupt there and answers so; an interrupt that comes while the kernel's end is
sending or waiting is held until the message is whole), and a kernel that does not come back
within ``INTERRUPT_GRACE`` seconds is hung.

What the kernel sends is hostile input with a budget: the grader never holds more of a line
than the current reply may have (``reply_limit`` characters for its request: a few MB, in
proportion to the request, at most ``MAX_MESSAGE``); a longer line is refused and skipped to its
end. A reply may hold at most ``MAX_NODES`` JSON values (counted before parsing), bytes that are
not UTF-8 become U+FFFD, and every string in it is made valid Unicode (a lone surrogate becomes
U+FFFD) as it is decoded. The kernel's Jupyter sockets refuse frames over ``MAX_MESSAGE_BYTES``.

Plain data is JSON: null, booleans, numbers (NaN and infinities as Python's json writes them),
strings, lists, and objects with exactly one key: ``t`` tuple, ``d`` dict (a list of pairs),
``c`` complex, ``a`` numpy array of a numeric or boolean dtype (dtype, shape, base64 bytes),
``s`` numpy scalar, ``fn`` a student function by name, ``cb`` a callback by id, ``x`` something
that is not plain data (its type name only). ``decode`` builds new objects from that and nothing
else: no pickle, no object of the student's, no attribute lookup on anything the kernel sent.
"""
from __future__ import annotations

import base64
import builtins
import enum
import json
import math
import os
import queue
import re
import select
import socket
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypedDict, TypeGuard, Union

import numpy as np
import numpy.typing as npt

from grading.step import program_source

if TYPE_CHECKING:
    from jupyter_client.blocking import BlockingKernelClient

MAX_MESSAGE = 16 * 2**20  # characters of any one message from the kernel (the hard cap)
MAX_MESSAGE_BYTES = MAX_MESSAGE + 65536  # bytes of a ZMQ frame on the shell socket (a reply, its envelope)
REPLY_BASE = 2 * 2**20  # characters every reply may have, whatever its request ...
REPLY_PER_REQUEST = 8  # ... plus this many per character of the request (a call's own arguments)
MAX_NODES = 500_000  # JSON values in one message, counted before it is parsed
MAX_DEPTH = 40
_SURROGATE = re.compile("[\ud800-\udfff]")
_DTYPE = re.compile(r"^[<>|=]?[biufc][0-9]{1,2}$")


_KERNEL_SIDE = program_source("channel_kernel.py")
SEND_TIMEOUT_MS = 2000  # a request the kernel's socket does not take in this time: the kernel is cut off
INTERRUPT_GRACE = 5.0  # seconds a stopped call has to come back before the kernel counts as hung

# A JSON value as json.loads gives it: what crosses the channel, each way
JSON: TypeAlias = Union[None, bool, int, float, str, list["JSON"], dict[str, "JSON"]]
# One message from the kernel (a JSON object): hostile input, each field checked where it is read
Message: TypeAlias = dict[str, JSON]


class KernelDied(Exception):
    """The kernel process ended during a test."""


class KernelHung(Exception):
    """The kernel neither answered nor came back after an interrupt."""


class StudentError(Exception):
    """An exception raised by the student's code whose type is not a built-in one."""


class ReplyRefused(Exception):
    """The kernel's reply broke the channel's budget (too long, too many values, malformed)."""


def reply_limit(request_chars: int) -> int:
    """Characters a reply to a request of ``request_chars`` characters may have."""
    return min(MAX_MESSAGE, REPLY_BASE + REPLY_PER_REQUEST * request_chars)


def valid_text(text: str) -> str:
    """``text`` as valid Unicode: a lone surrogate (which no file can hold) becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def too_many_nodes(text: str, limit: int = MAX_NODES) -> bool:
    """Whether JSON ``text`` may hold more than ``limit`` values: an upper bound counted from its
    separators and brackets before anything is parsed (a string holding them only overcounts)."""
    return text.count(",") + text.count("[") + text.count("{") > limit


class Unreadable:
    """Stands for a value of the student's that is not plain data (only its type name came)."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return (f"<{self.type_name} object (not plain data: the grader reads numbers, strings, lists, tuples, "
                "dicts and numeric arrays)>")


class StudentFunction:
    """A function defined in the student's kernel, called through the channel."""

    def __init__(self, name: str, channel: KernelChannel) -> None:
        self.__name__ = self.__qualname__ = name
        self._channel = channel

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """What the student's function returned (plain data, decoded), or the test's own argument
        it returned unchanged: to the test, any value."""
        return self._channel.call(self.__name__, args, kwargs)

    def changed_arguments(self, *args: Any, **kwargs: Any) -> list[int | str]:
        """Positions of the arguments (and names of the keyword arguments) the call changed in
        place, in the kernel, on its own copies: the test's objects never change. The opt-in of
        "leaves its arguments as they were" checks (a test never reads an argument after a call
        to see what the call did to it)."""
        return self._channel.call(self.__name__, args, kwargs, observe=True)

    def __repr__(self) -> str:
        return f"<student function {self.__name__}>"


# ----------------------------------------------------------------------------- plain data
# What decode builds from plain data: nothing else ever comes out of the kernel
Decoded: TypeAlias = Union[None, bool, int, float, str, complex, list["Decoded"], tuple["Decoded", ...],
                           dict[Hashable, "Decoded"], npt.NDArray[Any], np.generic, Unreadable, StudentFunction]
Callback: TypeAlias = Callable[..., object]  # a trusted function the kernel may ask the grader to run


class _NotPlain(enum.Enum):
    NOT_PLAIN = enum.auto()


_NOT_PLAIN = _NotPlain.NOT_PLAIN  # what a helper below returns for a value it does not handle
NotPlain: TypeAlias = Literal[_NotPlain.NOT_PLAIN]


def _builtin_scalar(value: object) -> TypeGuard[None | bool | int | float | str]:
    """None, or a bool, int, float or str of exactly that type (a subclass, such as numpy's
    float64, is not: it is encoded by value or as a numpy scalar)."""
    return value is None or type(value) in (bool, int, float, str)


def encode(value: object, callbacks: list[Callback], depth: int = 0) -> JSON:
    """Plain data for a trusted value sent to the kernel; callables become callbacks."""
    if _builtin_scalar(value):
        return value
    if depth > MAX_DEPTH:
        raise TypeError("arguments nested too deeply for the grading channel")
    if isinstance(value, StudentFunction):
        return {"fn": value.__name__}
    for helper in (_encode_container, _encode_number):
        encoded: JSON | NotPlain = helper(value, callbacks, depth)
        if encoded is not _NOT_PLAIN:
            return encoded
    if callable(value):
        callbacks.append(value)
        return {"cb": len(callbacks) - 1}
    raise TypeError(f"a {type(value).__name__} cannot be sent to the student's code (plain data only)")


def _encode_container(value: object, callbacks: list[Callback], depth: int) -> JSON | NotPlain:
    """Plain data for a list, tuple or dict (their items encoded), else _NOT_PLAIN."""
    if isinstance(value, (list, tuple)):
        items: list[JSON] = [encode(v, callbacks, depth + 1) for v in value]
        return items if isinstance(value, list) else {"t": items}
    if isinstance(value, dict):
        return {"d": [[encode(k, callbacks, depth + 1), encode(v, callbacks, depth + 1)] for k, v in value.items()]}
    return _NOT_PLAIN


def _encode_number(value: object, callbacks: list[Callback], depth: int) -> JSON | NotPlain:
    """Plain data for a number of a type that is not a built-in one (numpy scalars and numeric
    arrays, complex, subclasses of int and float), else _NOT_PLAIN."""
    if isinstance(value, (bool, np.bool_)) or isinstance(value, np.generic):
        array = np.asarray(value)
        if array.dtype.kind in "biufc":
            return {"s": {"dtype": array.dtype.str, "b64": base64.b64encode(array.tobytes()).decode()}}
    if isinstance(value, complex):
        return {"c": [value.real, value.imag]}
    if isinstance(value, (int, float)):  # subclasses of int or float (not bool): by value
        return float(value) if isinstance(value, float) else int(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        array = np.ascontiguousarray(value)
        return {"a": {"dtype": array.dtype.str, "shape": list(array.shape),
                      "b64": base64.b64encode(array.tobytes()).decode()}}
    return _NOT_PLAIN


def decode(data: JSON, channel: KernelChannel | None = None, depth: int = 0) -> Decoded:
    """Trusted objects from plain data received from the kernel (strict; anything else raises;
    strings made valid Unicode)."""
    if _builtin_scalar(data):
        return valid_text(data) if type(data) is str else data
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    if type(data) is list:
        return [decode(v, channel, depth + 1) for v in data]
    return _decode_tagged(data, channel, depth)


def _decode_tagged(data: JSON, channel: KernelChannel | None, depth: int) -> Decoded:
    """An object of one tag (``{"a": ...}``) from the kernel, decoded by that tag's decoder."""
    if type(data) is not dict or len(data) != 1:
        raise ValueError("not plain data")
    (tag, body), = data.items()
    decoder = _DECODERS.get(tag)
    value = decoder(body, channel, depth) if decoder is not None else _NOT_PLAIN
    if value is _NOT_PLAIN:
        raise ValueError(f"not plain data (tag {tag!r})")
    return value


# One decoder per tag: the object for ``body``, or _NOT_PLAIN when the body is not of its form.
def _decode_tuple(body: JSON, channel: KernelChannel | None, depth: int) -> Decoded | NotPlain:
    if type(body) is not list:
        return _NOT_PLAIN
    return tuple(decode(v, channel, depth + 1) for v in body)


def _decode_dict(body: JSON, channel: KernelChannel | None, depth: int) -> Decoded | NotPlain:
    if type(body) is not list:
        return _NOT_PLAIN
    items: list[Any] = body  # each item unpacked as a [key, value] pair, as it came
    pairs = [(decode(k, channel, depth + 1), decode(v, channel, depth + 1)) for k, v in items]
    return {_hashable(k): v for k, v in pairs}


def _decode_complex(body: JSON, channel: KernelChannel | None, depth: int) -> Decoded | NotPlain:
    if type(body) is list and len(body) == 2 and _numbers(body):
        return complex(body[0], body[1])
    return _NOT_PLAIN


def _decode_array(body: JSON, channel: KernelChannel | None, depth: int) -> Decoded | NotPlain:
    if type(body) is not dict:
        return _NOT_PLAIN
    dtype = _dtype(body.get("dtype"))
    shape = body.get("shape")
    if not _is_shape(shape):
        raise ValueError("bad array shape")
    raw = base64.b64decode(_text(body.get("b64")), validate=True)
    if len(raw) != math.prod(shape) * dtype.itemsize:
        raise ValueError("array bytes do not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _decode_scalar(body: JSON, channel: KernelChannel | None, depth: int) -> Decoded | NotPlain:
    if type(body) is not dict:
        return _NOT_PLAIN
    dtype = _dtype(body.get("dtype"))
    raw = base64.b64decode(_text(body.get("b64")), validate=True)
    if len(raw) != dtype.itemsize:
        raise ValueError("scalar bytes do not match its dtype")
    return np.frombuffer(raw, dtype=dtype)[0]


def _decode_unreadable(body: JSON, channel: KernelChannel | None, depth: int) -> Decoded | NotPlain:
    return Unreadable(valid_text(body[:100])) if type(body) is str else _NOT_PLAIN


def _decode_function(body: JSON, channel: KernelChannel | None, depth: int) -> Decoded | NotPlain:
    """A student function passed back by name: only one of the notebook's student names."""
    if type(body) is not str or channel is None or body not in channel.student_names:
        return _NOT_PLAIN
    return StudentFunction(body, channel)


_DECODERS: dict[str, Callable[[JSON, KernelChannel | None, int], Decoded | NotPlain]] = {
    "t": _decode_tuple, "d": _decode_dict, "c": _decode_complex, "a": _decode_array, "s": _decode_scalar,
    "x": _decode_unreadable, "fn": _decode_function}


def _numbers(values: list[JSON]) -> TypeGuard[list[float]]:
    """Whether every value is an int or a float (not a bool)."""
    return all(type(v) in (int, float) for v in values)


def _is_shape(value: JSON) -> TypeGuard[list[int]]:
    """Whether ``value`` is an array's shape: a list of at most 32 sizes, each an int, none negative."""
    return type(value) is list and all(type(n) is int and 0 <= n for n in value) and len(value) <= 32


def _dtype(text: JSON) -> np.dtype[Any]:
    if type(text) is not str or not _DTYPE.match(text):
        raise ValueError("not a numeric dtype")
    return np.dtype(text)


def _text(value: JSON) -> str:
    if type(value) is not str:
        raise ValueError("expected text")
    return value


def _hashable(key: Decoded) -> Hashable:
    if isinstance(key, (list, dict, np.ndarray, Unreadable)):
        raise ValueError("a dict key that cannot be a key")
    return key


def _contains_unreadable(value: Decoded, depth: int = 0) -> str | None:
    """The type name of the first Unreadable in ``value`` (searched to MAX_DEPTH), else None."""
    if isinstance(value, Unreadable):
        return value.type_name
    if depth >= MAX_DEPTH:
        return None
    items: Iterable[Decoded]
    if isinstance(value, (list, tuple)):
        items = value
    elif isinstance(value, dict):
        items = value.values()
    else:
        return None
    return next((t for t in (_contains_unreadable(v, depth + 1) for v in items) if t), None)


def student_exception(kind: JSON, message: JSON, where: str = "") -> Exception:
    """The exception to raise in a test for one the student's code raised (built-in types keep
    their type, so ``except ValueError`` in a test works; any other type is a StudentError);
    ``where``: the call that raised it, put before the message."""
    kind = valid_text(str(kind)[:100])
    prefix = f"in {where}: " if where else ""
    message = prefix + valid_text(str(message)[:4000]) if kind in dir(builtins) or kind == "LinAlgError" else (
        prefix + (f"{kind}: {valid_text(str(message)[:4000])}" if message else kind))
    if kind == "KeyboardInterrupt":
        return TimeoutError("the student's code was stopped: it ran past the time limit of this test")
    if kind == "LinAlgError":
        return np.linalg.LinAlgError(message)
    found = getattr(builtins, str(kind), None)
    if isinstance(found, type) and issubclass(found, Exception) and found.__module__ == "builtins":
        return found(message)
    return StudentError(message)


def _warning_class(name: JSON) -> type[Warning]:
    found = getattr(builtins, str(name), None)
    return found if isinstance(found, type) and issubclass(found, Warning) else UserWarning


# ----------------------------------------------------------------------------- the channel
def channel_client(connection_file: str) -> BlockingKernelClient:
    """A blocking kernel client with the shell and control channels only (the channel's own
    messages go over its socket; a kernel's ``input()`` during a test gets no answer). Its shell
    socket refuses a frame over MAX_MESSAGE_BYTES, as every socket the kernel writes to."""
    import zmq
    from jupyter_client.blocking import BlockingKernelClient

    class _Client(BlockingKernelClient):
        def connect_shell(self, identity: bytes | None = None) -> zmq.Socket[bytes]:
            sock = super().connect_shell(identity)
            sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
            return sock

    client = _Client(connection_file=connection_file)
    client.load_connection_file()
    client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=True)
    return client


class ChannelClosed(Exception):
    """The kernel's end of the channel went away during a test (the serve loop ended)."""


class _Socket:
    """The unix socket a kernel connects to, in ``folder`` (a path the kernel sees as the grader
    does: a sandboxed kernel's own ``sock`` folder; None: a private temporary folder, for a kernel
    on this file system). Whoever connects must first send the one-time token of the session,
    which only the kernel was given (in the request that starts its end): anyone else is dropped."""

    def __init__(self, folder: str | None = None) -> None:
        import secrets
        import tempfile
        home = folder or tempfile.mkdtemp(prefix="grading-channel-")
        self.own_folder = None if folder else home
        self.path = os.path.join(home, f"channel-{secrets.token_hex(6)}")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        os.chmod(self.path, 0o666)  # the kernel's user connects; the token decides who is heard
        self.listener.listen(8)

    def accept(self, token: str, wait: float) -> socket.socket | None:
        """The kernel's connection, if one that presents ``token`` comes within ``wait`` seconds."""
        if not select.select([self.listener], [], [], wait)[0]:
            return None
        conn, _ = self.listener.accept()
        conn.settimeout(1.0)
        want, got = token.encode("ascii") + b"\n", b""
        try:
            while len(got) < len(want) and not got.endswith(b"\n"):
                chunk = conn.recv(len(want) - len(got))
                if not chunk:
                    break
                got += chunk
        except OSError:
            got = b""
        import hmac
        if not hmac.compare_digest(got, want):
            conn.close()
            return None
        conn.settimeout(SEND_TIMEOUT_MS / 1000)
        return conn

    def close(self) -> None:
        self.listener.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
        if self.own_folder:
            import shutil
            shutil.rmtree(self.own_folder, ignore_errors=True)


class _Lines:
    """Newline-framed messages read from the kernel's connection, never holding more than the
    current reply's budget: a longer line is refused (ReplyRefused) and skipped to its end."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn, self.buffer, self.skipping = conn, bytearray(), False

    def feed(self, limit: int) -> None:
        """Read what has arrived (the caller waited until there is something); ChannelClosed at
        its end."""
        chunk = self.conn.recv(1 << 20)
        if not chunk:
            raise ChannelClosed("the kernel stopped serving the grader (its end of the channel closed)")
        if self.skipping:
            end = chunk.find(b"\n")
            if end < 0:
                return
            chunk, self.skipping = chunk[end + 1:], False
        self.buffer.extend(chunk)
        if b"\n" not in self.buffer and len(self.buffer) > limit:
            self.buffer.clear()
            self.skipping = True
            raise ReplyRefused(f"the student's code answered with more than {limit} characters (at most "
                               f"{limit} for this call)")

    def next(self) -> str | None:
        """The next whole line as text (None: none yet)."""
        end = self.buffer.find(b"\n")
        if end < 0:
            return None
        line = bytes(self.buffer[:end])
        del self.buffer[:end + 1]
        return line.decode("utf-8", errors="replace")


def _message_for(line: str, seq: int, limit: int = MAX_MESSAGE) -> Message | None:
    """The channel's message in a line from the kernel, if it answers request ``seq``;
    ReplyRefused if it does but breaks the budget (``limit`` characters, MAX_NODES values)."""
    if len(line) > limit or too_many_nodes(line):
        raise ReplyRefused(f"the student's code answered with {len(line)} characters (at most {limit} "
                           f"for this call) or more than {MAX_NODES} values")
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict) or message.get("seq") != seq:
        return None
    return message


class DescribeRequest(TypedDict):
    op: Literal["describe"]
    names: list[str]


class CallRequest(TypedDict):
    op: Literal["call"]
    name: str
    args: list[JSON]
    kwargs: dict[str, JSON]
    errstate: Mapping[str, object]  # numpy's error handling in the test (np.geterr()), kept for the call
    globals: dict[str, JSON]  # student names the test rebound (KernelChannel._overrides)
    observe: bool


class KernelChannel:
    """One notebook's channel to its kernel. ``client``: a blocking kernel client with shell and
    control channels (``channel_client``); ``alive``: a function that says whether the kernel
    still runs; ``folder``: where the kernel can reach a unix socket of the grader's (a sandboxed
    kernel's ``sock`` folder; None: a private temporary folder)."""

    def __init__(self, client: BlockingKernelClient, alive: Callable[[], bool], student_names: Iterable[str] = (),
                 folder: str | None = None) -> None:
        import secrets
        self.client, self.alive = client, alive
        # the only names ever described, called or rebound in the kernel (from the instructor's side)
        self.student_names = frozenset(student_names)
        self.folder = folder
        self.socket: _Socket | None = None
        self.conn: socket.socket | None = None
        self.lines: _Lines | None = None  # reads conn: both set, or both None
        self.described: JSON = None  # what the kernel said of the student names as the session opened
        self.limit = MAX_MESSAGE  # characters the reply to the current request may have
        self.deadline: float | None = None  # the running test's (begin)
        self.serving: str | None = None  # msg_id of the serve request while a session is open
        self.seq = 0
        self.stopped = False  # the current test ran out of time
        # IPython takes ~40 ms to run the kernel side's source, ~3 ms to call a function: the
        # source is sent once per kernel, under a name of its own, and called after that
        self.serve_name = f"_grading_channel_serve_{secrets.token_hex(6)}"
        self.defined = False
        # the running test's names, and the kernel's as resolved
        self.scope: dict[str, Any] | None = None
        self.resolved: dict[str, Any] | None = None

    def close(self) -> None:
        """Stop the client and remove the socket (the kernel is being shut down)."""
        self._drop_connection()
        if self.socket is not None:
            self.socket.close()
            self.socket = None
        self.client.stop_channels()

    def _send(self, text: str) -> None:
        """One message to the kernel; KernelHung when its end no longer takes one in
        SEND_TIMEOUT_MS, ChannelClosed when it is gone."""
        if self.conn is None:
            raise ChannelClosed("the kernel stopped serving the grader during this test")
        try:
            self.conn.sendall(text.encode("utf-8") + b"\n")
        except TimeoutError:
            self._drop_connection()
            raise KernelHung("the kernel's channel is cut off (it takes no more requests)") from None
        except OSError as err:
            self._drop_connection()
            raise ChannelClosed(f"the kernel stopped serving the grader ({err})") from None

    def _drop_connection(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = self.lines = None

    # sessions: one per test cell
    def begin(self, deadline: float) -> None:
        self.deadline, self.stopped = deadline, False

    @property
    def _due(self) -> float:
        """The running test's deadline (time.monotonic())."""
        assert self.deadline is not None, "begin() first"
        return self.deadline

    def end(self) -> None:
        """Close the session (if one was opened): the kernel leaves its serve loop, and the
        request that ran it has its reply (a kernel that does not leave is interrupted once)."""
        if self.serving is None:
            return
        msg_id, self.serving = self.serving, None
        if self.conn is not None:
            try:
                self._send(json.dumps({"seq": self.seq + 1, "op": "done"}))
            except (ChannelClosed, KernelHung):
                pass
        self._drop_connection()
        interrupted_at = None
        while not self._replied(msg_id, wait=0.2):
            self._check_alive()
            interrupted_at = self._interrupt_when_late(interrupted_at, time.monotonic(),
                                                       message="the kernel did not finish serving the grader")

    def _open(self) -> None:
        """Start the kernel's end (its serve loop), take its connection and its first message.
        If the function is gone (student code deleted or replaced it) the request ends at once:
        define it again."""
        import secrets
        if self.socket is None:
            self.socket = _Socket(self.folder)
        for attempt in range(2):
            token = secrets.token_hex(16)
            call = f"{self.serve_name}({self.socket.path!r}, {token!r}, {sorted(self.student_names)!r})"
            if self.defined and attempt == 0:
                code = call
            else:
                code = _KERNEL_SIDE.replace("def _grading_channel_serve(", f"def {self.serve_name}(", 1) + \
                    f"\n{call}\n"
            self.defined = True
            self.serving = self.client.execute(code, silent=True, store_history=False, allow_stdin=False,
                                               stop_on_error=False)
            self.seq = 0
            if self._connect(token):
                ready = self._receive(0)
                self.described = ready.get("described")
                return
        raise KernelHung("the kernel did not start serving the grader")

    def _connect(self, token: str) -> bool:
        """Wait for the kernel's connection with ``token``; False if the serve request ended
        without one. Past the deadline the kernel is interrupted once (KernelHung if it does not
        come back)."""
        assert self.socket is not None and self.serving is not None  # _open made both
        interrupted_at = None
        while True:
            conn = self.socket.accept(token, 0.05 if interrupted_at is None else 0.2)
            if conn is not None:
                self.conn, self.lines = conn, _Lines(conn)
                return True
            if self._replied(self.serving):
                self.serving = None
                return False
            self._check_alive()
            interrupted_at = self._interrupt_when_late(interrupted_at, time.monotonic())

    def _check_alive(self) -> None:
        if not self.alive():
            self.serving = None
            self._drop_connection()
            raise KernelDied("the kernel died during this test")

    def _receive(self, seq: int) -> Message:
        """The kernel's next message for request ``seq`` (stale ones are dropped). Past the
        deadline the kernel is interrupted once; a kernel that does not come back is hung."""
        assert self.lines is not None and self.conn is not None  # request() or _open() opened the session
        interrupted_at = None
        while True:
            line = self.lines.next()
            if line is not None:
                message = _message_for(line, seq, self.limit)
                if message is not None:
                    return message
                continue
            now = time.monotonic()
            interrupted_at = self._interrupt_when_late(interrupted_at, now)
            wait = 0.2 if interrupted_at is not None else min(0.2, max(self._due - now, 0.001))
            if select.select([self.conn], [], [], wait)[0]:
                self._feed()
            else:
                self._check_alive()

    def _feed(self) -> None:
        """Read what the kernel sent; its end closing is the stopped test's time limit, or a
        ChannelClosed."""
        assert self.lines is not None  # _receive's
        try:
            self.lines.feed(self.limit)
        except ChannelClosed:
            self._drop_connection()
            if self.stopped:
                raise TimeoutError("this test ran past its time limit; the student's code was stopped") from None
            raise

    def _interrupt_when_late(self, interrupted_at: float | None, now: float,
                             message: str = "the student's code did not stop when interrupted") -> float | None:
        """Interrupt the kernel once, at the deadline; KernelHung if it has not come back
        INTERRUPT_GRACE seconds later. Returns when it was interrupted (None: not yet)."""
        if interrupted_at is None and now >= self._due:
            self._interrupt()
            interrupted_at = now
        if interrupted_at is not None and now - interrupted_at > INTERRUPT_GRACE:
            raise KernelHung(message)
        return interrupted_at

    def _replied(self, msg_id: str, wait: float = 0.0) -> bool:
        """Whether the shell reply to msg_id has arrived within ``wait`` seconds (other replies
        are dropped)."""
        while True:
            try:
                reply = self.client.get_shell_msg(timeout=wait)
            except queue.Empty:
                return False
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return True

    def _interrupt(self) -> None:
        self.stopped = True
        msg = self.client.session.msg("interrupt_request", {})
        self.client.control_channel.send(msg)

    def _session(self) -> None:
        """The open session (opened if none is): TimeoutError past the test's time limit,
        ChannelClosed if the kernel's end went away during this test."""
        if self.stopped or time.monotonic() >= self._due:
            self.stopped = True
            raise TimeoutError("this test ran past its time limit; the student's code was stopped")
        if self.serving is None:
            self._open()
        elif self.conn is None:
            raise ChannelClosed("the kernel stopped serving the grader during this test")

    def request(self, message: DescribeRequest | CallRequest) -> int:
        """Send a request of the running test's session (opened if none is); its sequence number."""
        self._session()
        self.seq += 1
        text = json.dumps(dict(message, seq=self.seq))
        self.limit = reply_limit(len(text))
        self._send(text)
        return self.seq

    def describe(self) -> dict[str, Decoded]:
        """{name: StudentFunction | value | Unreadable} for the student names the kernel has."""
        names = sorted(self.student_names)
        if not names:
            return {}
        if self.serving is None:
            self._session()  # opens it: the kernel's answer came with its first message
            described, self.described = self.described, None
        else:
            described = self._receive(self.request({"op": "describe", "names": names})).get("ok")
        if type(described) is not dict:
            return {}
        found: dict[str, Decoded] = {}
        for name, info in described.items():
            if name not in self.student_names or type(info) is not dict:
                continue
            if info.get("kind") == "callable":
                found[name] = StudentFunction(name, self)
            elif info.get("kind") == "value":
                try:
                    found[name] = decode(info.get("value"), self)
                except (ValueError, TypeError, RecursionError):
                    found[name] = Unreadable("malformed")
        return found

    def call(self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any], observe: bool = False) -> Any:
        """What student function ``name`` returns for these arguments; with ``observe``, the
        positions (and keyword names) of the arguments it changed in place instead."""
        callbacks: list[Callback] = []
        encoded: CallRequest = {"op": "call", "name": name, "args": [encode(a, callbacks) for a in args],
                                "kwargs": {str(k): encode(v, callbacks) for k, v in kwargs.items()},
                                "errstate": np.geterr(), "globals": self._overrides(callbacks),
                                "observe": bool(observe)}
        message = self._answer(self.request(encoded), callbacks)
        if "raised" in message:
            error = _object(message["raised"])
            self._warn(error.get("warnings"))
            where = _call_text(name, args, kwargs)  # which call raised, with its arguments' shapes
            raise student_exception(error.get("type"), error.get("message", ""), where)
        result = _object(message.get("ok"))
        self._warn(result.get("warnings"))
        changed = _changed_keys(result.get("after"), len(args), kwargs)
        if observe:
            return changed
        value = self._returned(name, result)
        same = result.get("same_as")
        # the test's own argument back only when the call left it as it was (nothing is written
        # into a test's objects: a function that changed and returned its input returns a copy)
        if type(same) is int and 0 <= same < len(args) and same not in changed:
            return args[same]
        return value

    def _answer(self, seq: int, callbacks: list[Callback]) -> Message:
        """The kernel's answer to call ``seq``, running on this side the callbacks it asks for."""
        while True:
            message = self._receive(seq)
            if "callback" not in message:
                return message
            self._run_callback(callbacks, message)

    def _returned(self, name: str, result: dict[str, JSON]) -> Decoded:
        """The value student function ``name`` returned, decoded; TypeError if it is not plain data."""
        try:
            value = decode(result.get("value"), self)
        except (ValueError, TypeError) as err:
            raise TypeError(f"{name} returned something the grader cannot read ({err})") from None
        unreadable = _contains_unreadable(value)
        if unreadable:
            raise TypeError(f"{name} returned a {unreadable} object; return numbers, lists, tuples or numpy arrays")
        return value

    def _overrides(self, callbacks: list[Callback]) -> dict[str, JSON]:
        """Student names the running test has rebound to a trusted function (``mean =
        reference_mean``): in a kernel that rebinding is what the student's functions would see,
        so the call sees it too, as a callback. Only student names, only functions: no value of a
        test ever goes to the kernel this way."""
        if not self.scope or self.resolved is None:
            return {}
        missing = object()
        changed: dict[str, JSON] = {}
        for name in sorted(self.student_names):
            current = self.scope.get(name, missing)
            if current is missing or current is self.resolved.get(name, missing):
                continue
            if isinstance(current, StudentFunction):
                changed[name] = {"fn": current.__name__}
            elif callable(current) and not isinstance(current, type):
                changed[name] = encode(current, callbacks)
            else:
                raise TypeError(f"the test rebound the student's name {name!r} to a value; only a function "
                                "may stand in for a student's name")
        return changed

    def _run_callback(self, callbacks: list[Callback], message: dict[str, Any]) -> None:
        """Run the callback the kernel asks for and send it the answer. ``message``'s fields are
        read as they came: one of a wrong type raises here, and the kernel is answered
        ``cb_raised``."""
        cb = message.get("callback")
        try:
            if type(cb) is not int or not 0 <= cb < len(callbacks):
                raise ValueError("unknown callback")
            args = [decode(a, self) for a in message.get("args", [])]
            kwargs = {str(k): decode(v, self) for k, v in (message.get("kwargs") or {}).items()}
            answer = {"cb_ok": encode(callbacks[cb](*args, **kwargs), callbacks)}
        except (KernelDied, KernelHung, ChannelClosed):
            raise
        except Exception as err:
            if self.conn is None:  # the kernel's end went away while the callback ran (it called the kernel)
                raise
            answer = {"cb_raised": {"type": type(err).__name__, "message": str(err)[:2000]}}
        self._send(json.dumps(dict(answer, seq=-2)))

    @staticmethod
    def _warn(found: Any) -> None:
        """Raise on this side the warnings the student's code raised: ``found``, the kernel's
        ``[[category, message], ...]`` as it came (items of another form are passed over)."""
        import warnings
        for item in (found or [])[:20]:
            if type(item) is list and len(item) == 2:
                warnings.warn(valid_text(str(item[1])[:500]), _warning_class(item[0]), stacklevel=3)


def _object(value: JSON) -> dict[str, JSON]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if type(value) is dict else {}


def _changed_keys(after: JSON, n_args: int, kwargs: Mapping[str, object]) -> list[int | str]:
    """Which arguments the kernel says the call changed in place: positions below ``n_args`` and
    names of ``kwargs``, from the keys of its ``after`` (anything else is ignored)."""
    if type(after) is not dict:
        return []
    found: list[int | str] = []
    for key in list(after)[:n_args + len(kwargs)]:
        if type(key) is str and key.isdigit() and int(key) < n_args:
            found.append(int(key))
        elif type(key) is str and key.startswith("k:") and key[2:] in kwargs:
            found.append(key[2:])
    return found


def _call_text(name: str, args: Sequence[object], kwargs: Mapping[str, object]) -> str:
    """``linear(x (3,), W (2, 3), b 1.5)``: a call as a failure message names it (shapes, not values)."""
    parts = [_argument_text(a) for a in args] + [f"{k}={_argument_text(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _argument_text(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    if value is None or isinstance(value, (bool, int, float, np.generic)):
        return repr(value)[:20]
    return "a function" if callable(value) else type(value).__name__
