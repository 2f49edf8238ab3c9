"""The student kernel's end of the grading channel (grading/step/channel.py is the grader's end).

This file is never imported by the grader: its source is sent to the student's kernel and run
there, once per test cell, as a silent request. It connects to the unix socket the grader
listens on (a path the kernel can reach: in a sandboxed kernel's own folder), presents the
one-time token it was given, answers with what the kernel has of the notebook's student names,
and then serves requests, one JSON line each way: call a student function with plain-data
arguments (and run the grader's callbacks by asking back). Everything it sends is plain data
(the scheme is in grading/step/channel.py).

Nothing here is secret and nothing here is trusted: it runs in the process the student's code
controls, so student code may replace any part of it. That can only change the data the grader
receives, which the grader decodes strictly and judges with its own code and its own expected
values. Hidden tests, expected values and comparisons never come here.
"""


def _grading_channel_serve(path, token, names):
    import base64
    import builtins
    import json
    import signal
    import socket
    import sys
    import warnings

    import numpy

    user_ns = get_ipython().user_ns  # noqa: F821  (the kernel's IPython)
    max_text = 1_000_000
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    received = bytearray()

    def encode(value, depth=0):
        kind = type(value)
        if value is None or kind in (bool, int, float):
            return value
        if kind is str:
            return value[:max_text]
        if depth > 30:
            return {"x": "too deeply nested"}
        if kind is list:
            return [encode(v, depth + 1) for v in value]
        if kind is tuple:
            return {"t": [encode(v, depth + 1) for v in value]}
        if kind is dict:
            return {"d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
        if kind is complex:
            return {"c": [value.real, value.imag]}
        if isinstance(value, numpy.ndarray) and value.dtype.kind in "biufc":
            array = numpy.ascontiguousarray(value.view(numpy.ndarray))
            return {"a": {"dtype": array.dtype.str, "shape": list(array.shape),
                          "b64": base64.b64encode(array.tobytes()).decode("ascii")}}
        if isinstance(value, numpy.generic) and numpy.dtype(type(value)).kind in "biufc":
            array = numpy.asarray(value)
            return {"s": {"dtype": array.dtype.str, "b64": base64.b64encode(array.tobytes()).decode("ascii")}}
        return {"x": kind.__name__}

    def decode(data, callback):
        if isinstance(data, list):
            return [decode(v, callback) for v in data]
        if not isinstance(data, dict):
            return data
        (tag, body), = data.items()
        if tag == "t":
            return tuple(decode(v, callback) for v in body)
        if tag == "d":
            return {decode(k, callback): decode(v, callback) for k, v in body}
        if tag == "c":
            return complex(*body)
        if tag == "a":
            raw = base64.b64decode(body["b64"])
            return numpy.frombuffer(raw, dtype=body["dtype"]).reshape(body["shape"]).copy()
        if tag == "s":
            return numpy.frombuffer(base64.b64decode(body["b64"]), dtype=body["dtype"])[0]
        if tag == "fn":
            return user_ns[body]
        if tag == "cb":
            return callback(body)
        raise ValueError(f"unknown tag {tag!r}")

    def exchange(message):
        """Send one message to the grader and return its answer. An interrupt (the grader's, at
        the test's time limit) that comes meanwhile is held, so no message is cut in two, and
        raised after (``interrupted``) where student code runs."""
        held = []
        previous = signal.signal(signal.SIGINT, lambda *_: held.append(True))
        try:
            conn.sendall(json.dumps(message).encode("ascii") + b"\n")
            while b"\n" not in received:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    raise EOFError("the grader closed the channel")
                received.extend(chunk)
            end = received.index(b"\n")
            answer = json.loads(bytes(received[:end]))
            del received[:end + 1]
            return answer
        finally:
            signal.signal(signal.SIGINT, previous)
            if held:
                interrupted.append(True)

    interrupted = []

    def make_callback(seq):
        def callback(cb_id):
            def trusted_function(*args, **kwargs):
                answer = exchange({"seq": seq, "callback": cb_id, "args": [encode(a) for a in args],
                                   "kwargs": {k: encode(v) for k, v in kwargs.items()}})
                while "op" in answer and answer.get("op") != "done":
                    # the grader's function calls the student's code in turn: serve that first
                    answer = exchange(handle(answer))
                if interrupted:  # the time limit came while the grader ran the callback
                    interrupted.clear()
                    raise KeyboardInterrupt
                if "cb_ok" in answer:
                    return decode(answer["cb_ok"], callback)
                error = answer.get("cb_raised") or {}
                kind = getattr(builtins, str(error.get("type")), None)
                if not (isinstance(kind, type) and issubclass(kind, Exception)):
                    kind = RuntimeError
                raise kind(error.get("message", ""))
            return trusted_function
        return callback

    def describe(names):
        found = {}
        for name in names:
            if name not in user_ns:
                found[name] = {"kind": "absent"}
            elif callable(user_ns[name]):
                found[name] = {"kind": "callable"}
            else:
                found[name] = {"kind": "value", "value": encode(user_ns[name])}
        return found

    def call(request, seq):
        callback = make_callback(seq)
        args = [decode(a, callback) for a in request["args"]]
        kwargs = {k: decode(v, callback) for k, v in request["kwargs"].items()}
        observed = dict(enumerate(args)) if request.get("observe") else {}
        if request.get("observe"):
            observed.update({"k:" + k: v for k, v in kwargs.items()})
        before = {i: json.dumps(encode(a)) for i, a in observed.items()
                  if isinstance(a, (list, dict, numpy.ndarray))}
        function = user_ns[request["name"]]
        # names the test rebound (a reference function, say) are rebound here for this call only
        overrides = {k: decode(v, callback) for k, v in request.get("globals", {}).items()}
        missing = object()
        saved = {k: user_ns.get(k, missing) for k in overrides}
        user_ns.update(overrides)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with numpy.errstate(**request.get("errstate", {})):
                    result = function(*args, **kwargs)
            except BaseException as err:  # noqa: B036  (an interrupt too: it ends the call, not the serving)
                return {"raised": {"type": type(err).__name__, "message": str(err)[:4000],
                                   "warnings": [[w.category.__name__, str(w.message)[:500]] for w in caught[:20]]}}
            finally:
                for k, old in saved.items():
                    if old is missing:
                        user_ns.pop(k, None)
                    else:
                        user_ns[k] = old
        after = {}  # only when the test asked (observe): which arguments changed, not their values
        for i, old in before.items():
            if json.dumps(encode(observed[i])) != old:
                after[str(i)] = True
        same_as = next((i for i, a in enumerate(args) if result is a), None)
        if request.get("observe"):
            result = None
        return {"ok": {"value": encode(result), "same_as": same_as, "after": after,
                       "warnings": [[w.category.__name__, str(w.message)[:500]] for w in caught[:20]]}}

    def handle(request):
        """The reply to one request of the grader's (a call, or describe)."""
        seq = request.get("seq", 0)
        op = request.get("op")
        try:
            if op == "call":
                return dict(call(request, seq), seq=seq)
            if op == "describe":
                return {"seq": seq, "ok": describe(request["names"])}
            return {"seq": seq, "raised": {"type": "ValueError", "message": f"unknown op {op!r}"}}
        except Exception as err:
            return {"seq": seq, "raised": {"type": type(err).__name__, "message": str(err)[:4000]}}

    conn.sendall(token.encode("ascii") + b"\n")
    reply = {"seq": 0, "ready": True, "described": describe(names)}
    try:
        while True:
            request = exchange(reply)
            interrupted.clear()  # between calls: the grader knows it stopped this test
            if request.get("op") == "done":
                return
            reply = handle(request)
    finally:
        conn.close()
        sys.stdout.flush()
