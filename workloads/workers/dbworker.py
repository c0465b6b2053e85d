"""dbworker: serve a primitive to diagbench (`-w worker --worker 'PROGRAM ARGS...'`).

The wire contract is docs/PROTOCOL.md, "Version 2: external workers"; docs/workers.md shows how to
use this module. diagbench starts the worker with one end of a socket pair as fd 3
(DIAGBENCH_WORKER_FD) and the encoding in DIAGBENCH_WORKER_ENCODING (binary or json). The worker
answers diagbench's hello with what it offers, then serves requests until end of stream:

    import dbworker
    import numpy as np
    dbworker.serve(np.sin, name="np-sin",
                   jvp=lambda x, v: np.cos(x) * v, vjp=lambda x, w: np.cos(x) * w,
                   batching="sequential", tags="diagonal", reference=np.cos)

f(x) -> y, jvp(x, v) -> J v and vjp(x, w) -> J^T w take and return 1-D float64 numpy arrays of
length n. With batching="vectorised", jvp_batch(x, V) and vjp_batch(x, W) take n-by-k arrays
whose columns are the tangents and return n-by-k arrays (one request carries k tangents);
"sequential": diagbench sends k single requests (the kit also loops single calls for a request
with k > 1); "none": batched requests are refused. reference(x) -> the exact diagonal of J(x)
(optional). Nothing a worker says is trusted: diagbench verifies the JVP, the VJP, the tag and
the reference before timing.

Only the standard library and numpy. A Python exception in the user's functions is answered as
an error frame of one line (diagbench then fails the cell with it); the worker goes on serving
until diagbench closes the connection.
"""
import base64
import json
import os
import re
import struct
import sys
import time

import numpy as np

PROTOCOL = 2
FRAME_MAX = 256 << 20
HELLO_MAX = 4096
OPS = ["ping", "eval", "jvp", "vjp", "result", "error", "hello", "reference"]
PING, EVAL, JVP, VJP, RESULT, ERROR, HELLO, REFERENCE = range(8)
_HEAD = struct.Struct("<3sBIII")  # "DB1", op, n, k, reserved


class ProtocolError(Exception):
    """A frame that breaks the contract (answered with an error frame)."""


class _Conn:
    def __init__(self, fd, encoding):
        self.fd, self.encoding = fd, encoding

    def read_exact(self, count):
        parts, got = [], 0
        while got < count:
            chunk = os.read(self.fd, min(count - got, 1 << 20))
            if not chunk:
                return None
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def read_frame(self):
        head = self.read_exact(4)
        if head is None:
            return None
        (length,) = struct.unpack("<I", head)
        if length > FRAME_MAX:
            raise ProtocolError(f"frame of {length} bytes exceeds the maximum {FRAME_MAX}")
        payload = self.read_exact(length)
        if payload is None:
            return None
        return payload

    def write_frame(self, payload):
        data = memoryview(struct.pack("<I", len(payload)) + payload)
        while data:
            sent = os.write(self.fd, data)
            data = data[sent:]


# ---- decoding ----------------------------------------------------------------------------------

def _doubles(raw, count):
    return np.frombuffer(raw, dtype="<f8", count=count).astype(np.float64)


def _b64(text, count):
    """count doubles from canonical base64 text (RFC 4648 with padding)."""
    if not isinstance(text, str) or len(text) != (8 * count + 2) // 3 * 4:
        raise ProtocolError("x or v is not base64 of the right length")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as e:
        raise ProtocolError(f"x or v is not base64 ({e})") from None
    if len(raw) != 8 * count or base64.b64encode(raw).decode() != text:
        raise ProtocolError("x or v is not canonical base64 of the right length")
    return _doubles(raw, count)


def _hello_text(text):
    """The key=value lines of a hello as a dict (keys [a-z0-9_], each once)."""
    keys = {}
    if not text.endswith("\n") and text:
        raise ProtocolError("hello text does not end in a newline")
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[a-z0-9_]{1,32}", key) or key in keys:
            raise ProtocolError(f"hello line {line!r} is not key=value")
        keys[key] = value
    return keys


def decode(payload, encoding):
    """A request as (op, n, k, x, V, hello keys): V is n-by-k (columns are tangents)."""
    if encoding == "json":
        try:
            obj = json.loads(payload, object_pairs_hook=_no_duplicates)
        except (ValueError, UnicodeDecodeError) as e:
            raise ProtocolError(f"payload is not JSON ({e})") from None
        if not isinstance(obj, dict) or obj.get("op") not in OPS:
            raise ProtocolError('JSON message without a known "op"')
        op = OPS.index(obj["op"])
        if op == HELLO:
            proto = obj.get("protocol")
            keys = {k: str(v) for k, v in obj.items() if k not in ("op", "protocol")}
            return op, 0, proto, None, None, keys
        allowed = {"op", "n", "k", "x", "v"}
        if set(obj) - allowed:
            raise ProtocolError(f"unknown JSON member {sorted(set(obj) - allowed)[0]!r}")
        if op == PING:
            return op, 0, 0, None, None, None
        n, k = obj.get("n"), obj.get("k", 0)
        if not _whole(n) or n < 1 or not _whole(k):
            raise ProtocolError(f"JSON {OPS[op]} message with bad or missing n, k")
        x = _b64(obj.get("x"), n)
        V = None
        if op in (JVP, VJP):
            if k < 1:
                raise ProtocolError(f"JSON {OPS[op]} message with bad or missing n, k")
            V = _b64(obj.get("v"), n * k).reshape(k, n).T
        elif "k" in obj or "v" in obj:
            raise ProtocolError(f"JSON {OPS[op]} message with k or v")
        return op, n, k, x, V, None
    if len(payload) < 16:
        raise ProtocolError(f"binary payload of {len(payload)} bytes does not start with DB1")
    magic, op, n, k, reserved = _HEAD.unpack_from(payload)
    if magic != b"DB1" or reserved != 0 or op >= len(OPS):
        raise ProtocolError("binary payload does not start with DB1, a known op and 0")
    body = payload[16:]
    if op == HELLO:
        if len(body) != n or n > HELLO_MAX:
            raise ProtocolError(f"malformed hello ({len(payload)} bytes)")
        try:
            return op, 0, k, None, None, _hello_text(body.decode("ascii"))
        except UnicodeDecodeError:
            raise ProtocolError("hello text is not ASCII") from None
    if op == PING:
        if n or k or body:
            raise ProtocolError("ping with n, k or a payload")
        return op, 0, 0, None, None, None
    if op not in (EVAL, JVP, VJP, REFERENCE) or n < 1:
        raise ProtocolError(f"{OPS[op]} with n={n} k={k} breaks the message rules")
    columns = k if op in (JVP, VJP) else 0
    if (op in (JVP, VJP)) != (k >= 1) or len(body) != 8 * n * (1 + columns):
        raise ProtocolError(f"{OPS[op]} payload of {len(payload)} bytes, expected "
                            f"{16 + 8 * n * (1 + columns)}")
    x = _doubles(body, n)
    V = _doubles(body[8 * n:], n * k).reshape(k, n).T if columns else None
    return op, n, k, x, V, None


def _whole(v):
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= FRAME_MAX


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ProtocolError("duplicate JSON member")
    return dict(pairs)


# ---- encoding ----------------------------------------------------------------------------------

def encode_result(encoding, out, compute_s):
    """A result frame's payload: out is n-by-k (or length n), columns sent one after another."""
    out = np.asarray(out, dtype=np.float64)
    cols = out.reshape(-1, 1) if out.ndim == 1 else out
    n, k = cols.shape
    raw = np.ascontiguousarray(cols.T, dtype="<f8").tobytes()
    if encoding == "json":
        msg = {"op": "result", "n": n, "k": k, "v": base64.b64encode(raw).decode()}
        if compute_s is not None:
            msg["compute_s"] = compute_s
        return json.dumps(msg, separators=(",", ":")).encode()
    extra = b"" if compute_s is None else struct.pack("<d", compute_s)
    return _HEAD.pack(b"DB1", RESULT, n, k, 0) + raw + extra


def encode_empty_result(encoding):
    if encoding == "json":
        return b'{"op":"result","n":0,"k":0}'
    return _HEAD.pack(b"DB1", RESULT, 0, 0, 0)


def encode_error(encoding, message):
    text = " ".join(str(message).split())[:159] or "error"
    if encoding == "json":
        return json.dumps({"op": "error", "message": text}, separators=(",", ":")).encode()
    raw = text.encode("utf-8", "replace")[:159]
    return _HEAD.pack(b"DB1", ERROR, len(raw), 0, 0) + raw


def encode_hello(encoding, keys):
    if encoding == "json":
        msg = {"op": "hello", "protocol": PROTOCOL}
        msg.update({k: (int(v) if isinstance(v, int) else v) for k, v in keys.items()})
        return json.dumps(msg, separators=(",", ":")).encode()
    text = "".join(f"{k}={v}\n" for k, v in keys.items()).encode("ascii")
    return _HEAD.pack(b"DB1", HELLO, len(text), PROTOCOL, 0) + text


# ---- serving -----------------------------------------------------------------------------------

BATCHING = ("vectorised", "sequential", "none")
TAGS = ("diagonal", "tridiagonal", "none")


def serve(f, *, name, jvp=None, vjp=None, batching="sequential", jvp_batch=None,
          vjp_batch=None, tags="none", n_min=1, n_max=0, reference=None, compute_time=True,
          threads=None, fd=None, encoding=None):
    """Serve f to diagbench until it closes the connection; returns the exit status (0)."""
    if not re.fullmatch(r"[A-Za-z0-9._+-]{1,63}", name):
        raise ValueError(f"name {name!r}: expected [A-Za-z0-9._+-], 1 to 63 characters")
    if batching not in BATCHING or tags not in TAGS:
        raise ValueError(f"batching {batching!r} / tags {tags!r}: expected one of "
                         f"{BATCHING} / {TAGS}")
    if jvp is None:
        raise ValueError("jvp is required (diagbench probes and verifies with JVPs)")
    if batching == "vectorised" and jvp_batch is None:
        raise ValueError("batching='vectorised' needs jvp_batch(x, V)")
    if vjp is not None and batching == "vectorised" and vjp_batch is None:
        raise ValueError("batching='vectorised' with a vjp needs vjp_batch(x, W)")
    fd = int(os.environ.get("DIAGBENCH_WORKER_FD", "3")) if fd is None else fd
    encoding = encoding or os.environ.get("DIAGBENCH_WORKER_ENCODING", "binary")
    if encoding not in ("binary", "json"):
        raise ValueError(f"DIAGBENCH_WORKER_ENCODING {encoding!r}: expected binary or json")
    want_threads = os.environ.get("DIAGBENCH_WORKER_THREADS")
    if want_threads and callable(threads):
        threads = threads(int(want_threads))
    elif want_threads and threads is None:
        threads = int(want_threads)
    conn = _Conn(fd, encoding)
    hello = {"name": name, "batching": batching, "tags": tags, "n_min": int(n_min),
             "n_max": int(n_max), "vjp": int(vjp is not None),
             "reference": int(reference is not None), "compute_time": int(bool(compute_time))}
    if isinstance(threads, int) and threads >= 1:
        hello["threads"] = threads

    def single(fn, x, V):
        return np.stack([np.asarray(fn(x, V[:, j]), dtype=np.float64) for j in
                         range(V.shape[1])], axis=1)

    def answer(op, n, k, x, V):
        if op == EVAL:
            return np.asarray(f(x), dtype=np.float64)
        if op == REFERENCE:
            if reference is None:
                raise ProtocolError("this worker offers no reference diagonal")
            return np.asarray(reference(x), dtype=np.float64)
        fn, fn_batch = (jvp, jvp_batch) if op == JVP else (vjp, vjp_batch)
        if fn is None:
            raise ProtocolError("this worker serves no vjp")
        if k == 1:
            return np.asarray(fn(x, V[:, 0]), dtype=np.float64).reshape(n, 1)
        if batching == "none":
            raise ProtocolError(f"no batching rule: a {OPS[op]} of {k} tangents")
        if batching == "vectorised":
            return np.asarray(fn_batch(x, V), dtype=np.float64)
        return single(fn, x, V)

    first = True
    while True:
        try:
            payload = conn.read_frame()
        except ProtocolError as e:
            conn.write_frame(encode_error(encoding, e))
            return 1
        if payload is None:
            return 0
        try:
            op, n, k, x, V, keys = decode(payload, encoding)
            if first and (op != HELLO or k != PROTOCOL):
                conn.write_frame(encode_error(
                    encoding, f"expected a hello of protocol {PROTOCOL} first"))
                return 1
            if op == HELLO:
                first = False
                conn.write_frame(encode_hello(encoding, hello))
                continue
            if op == PING:
                conn.write_frame(encode_empty_result(encoding))
                continue
            if op not in (EVAL, JVP, VJP, REFERENCE):
                raise ProtocolError(f"the worker takes requests, not {OPS[op]}")
            t0 = time.perf_counter()
            out = answer(op, n, k, x, V)
            want = (n,) if op in (EVAL, REFERENCE) else (n, k)
            if out.shape != want and not (out.shape == (n, 1) and want == (n,)):
                raise ProtocolError(f"{name}: {OPS[op]} returned shape {out.shape}, "
                                    f"expected {want}")
            spent = time.perf_counter() - t0
            conn.write_frame(encode_result(encoding, out, spent if compute_time else None))
        except MemoryError:
            conn.write_frame(encode_error(encoding, "worker out of memory"))
        except ProtocolError as e:
            conn.write_frame(encode_error(encoding, e))
        except Exception as e:  # the user's function failed: one line, and serve on
            conn.write_frame(encode_error(encoding, f"{type(e).__name__}: {e}"))


def main_guard(fn):
    """Run fn() -> status and exit with it; a broken connection is exit 0 (diagbench left)."""
    try:
        sys.exit(fn())
    except BrokenPipeError:
        sys.exit(0)
    except KeyboardInterrupt:
        sys.exit(130)
